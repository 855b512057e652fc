/**
 * The Lua scripts behind RedisRunQueue: each change to the cluster's run queues is one script, so the per-room
 * order and the per-room, per-person and server-wide counts stay consistent whichever nodes change them at
 * once. Keys are built inside the scripts from the prefix (ARGV[1]), which suits one Redis server (not
 * Redis Cluster, whose scripts must declare their keys).
 *
 * Layout under P = `<prefix>:runs`:
 *   P:room:<roomId>  list of run ids in start order; the head is the run whose turn it is
 *   P:run:<runId>    hash: room, node (the web node that queued it and runs its turn), conn, addr,
 *                    info (RunInfo JSON), started ('1' once its turn began), counted ('1' while it counts
 *                    against its owner's limits: until it ends or is cancelled)
 *   P:conn, P:addr   hashes: owner connection / address -> runs counted
 *   P:waiting        runs whose turn has not begun (the server-wide 'runsWaiting' limit)
 *   P:rooms          set of rooms with runs
 *   P:version        RunQueueState.version
 *   P:node:<nodeId>  a web node's heartbeat (expires when the node dies)
 */

const HELPERS = `
local P = ARGV[1]
local function uncount(conn, addr)
  if conn and conn ~= '' and redis.call('HINCRBY', P..':conn', conn, -1) <= 0 then redis.call('HDEL', P..':conn', conn) end
  if addr and addr ~= '' and redis.call('HINCRBY', P..':addr', addr, -1) <= 0 then redis.call('HDEL', P..':addr', addr) end
end
local function drop(runId)
  local runKey = P..':run:'..runId
  local h = redis.call('HMGET', runKey, 'room', 'conn', 'addr', 'counted', 'started')
  if not h[1] then return false end
  local roomKey = P..':room:'..h[1]
  redis.call('LREM', roomKey, 0, runId)
  if h[4] == '1' then uncount(h[2], h[3]) end
  if h[5] ~= '1' then redis.call('DECR', P..':waiting') end
  redis.call('DEL', runKey)
  if redis.call('LLEN', roomKey) == 0 then redis.call('SREM', P..':rooms', h[1]) end
  return h[1]
end
`;

/** ARGV: P, roomId, runId, node, conn, addr, infoJson, perRoom, perUser, perAddress, waitingMax -> {'ok', position} | {refusal} */
export const ENQUEUE = `${HELPERS}
local roomId, runId, node, conn, addr, info = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local roomKey = P..':room:'..roomId
local n = redis.call('LLEN', roomKey)
if n - 1 >= tonumber(ARGV[8]) then return {'limit-room'} end
if conn ~= '' and tonumber(redis.call('HGET', P..':conn', conn) or '0') >= tonumber(ARGV[9]) then return {'limit-user'} end
if addr ~= '' and tonumber(redis.call('HGET', P..':addr', addr) or '0') >= tonumber(ARGV[10]) then return {'limit-address'} end
if tonumber(redis.call('GET', P..':waiting') or '0') >= tonumber(ARGV[11]) then return {'busy'} end
redis.call('RPUSH', roomKey, runId)
redis.call('HSET', P..':run:'..runId, 'room', roomId, 'node', node, 'conn', conn, 'addr', addr, 'info', info, 'started', '0', 'counted', '1')
if conn ~= '' then redis.call('HINCRBY', P..':conn', conn, 1) end
if addr ~= '' then redis.call('HINCRBY', P..':addr', addr, 1) end
redis.call('INCR', P..':waiting')
redis.call('SADD', P..':rooms', roomId)
return {'ok', tostring(n)}
`;

/** ARGV: P, roomId, node -> the head run's id when it is this node's and its turn had not begun (now it has). */
export const CLAIM = `${HELPERS}
local head = redis.call('LINDEX', P..':room:'..ARGV[2], 0)
if not head then return false end
local runKey = P..':run:'..head
local h = redis.call('HMGET', runKey, 'node', 'started')
if h[1] ~= ARGV[3] or h[2] == '1' then return false end
redis.call('HSET', runKey, 'started', '1')
redis.call('DECR', P..':waiting')
return head
`;

/** ARGV: P, runId -> the run's room (false: it was gone). */
export const FINISH = `${HELPERS}
return drop(ARGV[2])
`;

/** ARGV: P, roomId -> {dropped ids, running ids}: waiting runs are dropped, running ones marked for cancelling. */
export const CANCEL = `${HELPERS}
local ids = redis.call('LRANGE', P..':room:'..ARGV[2], 0, -1)
local dropped, running = {}, {}
for _, id in ipairs(ids) do
  local runKey = P..':run:'..id
  local h = redis.call('HMGET', runKey, 'started', 'counted', 'conn', 'addr')
  if h[1] == '1' then
    if h[2] == '1' then
      redis.call('HSET', runKey, 'counted', '0')
      uncount(h[3], h[4])
      table.insert(running, id)
    end
  else
    drop(id)
    table.insert(dropped, id)
  end
end
return {dropped, running}
`;

/** ARGV: P, runId, infoJson */
export const UPDATE = `${HELPERS}
if redis.call('EXISTS', P..':run:'..ARGV[2]) == 1 then redis.call('HSET', P..':run:'..ARGV[2], 'info', ARGV[3]) end
return 1
`;

/** ARGV: P, roomId -> {version, id, info, started, id, info, started, ...} */
export const SNAPSHOT = `${HELPERS}
local out = {redis.call('INCR', P..':version')}
for _, id in ipairs(redis.call('LRANGE', P..':room:'..ARGV[2], 0, -1)) do
  local h = redis.call('HMGET', P..':run:'..id, 'info', 'started')
  if h[1] then
    table.insert(out, id)
    table.insert(out, h[1])
    table.insert(out, h[2])
  end
end
return out
`;

/** ARGV: P -> {roomId, runId, started, ...} of the runs of web nodes whose heartbeat expired (now dropped). */
export const SWEEP = `${HELPERS}
local out = {}
for _, roomId in ipairs(redis.call('SMEMBERS', P..':rooms')) do
  for _, id in ipairs(redis.call('LRANGE', P..':room:'..roomId, 0, -1)) do
    local h = redis.call('HMGET', P..':run:'..id, 'node', 'started')
    if not h[1] or redis.call('EXISTS', P..':node:'..h[1]) == 0 then
      table.insert(out, roomId)
      table.insert(out, id)
      table.insert(out, h[2] or '0')
      if h[1] then drop(id) else redis.call('LREM', P..':room:'..roomId, 0, id) end
    end
  end
  if redis.call('LLEN', P..':room:'..roomId) == 0 then redis.call('SREM', P..':rooms', roomId) end
end
return out
`;
