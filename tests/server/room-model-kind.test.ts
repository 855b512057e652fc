/**
 * A room keeps its model's kind: after a restart with its model removed from the models directory, a diffusion
 * room still says 'diffusion' (its panels and settings stay a diffusion room's) and every room, of either kind,
 * says its model is missing; a drag is refused by name. Real servers on one SQLite file, real Socket.IO clients,
 * the tiny diffusion fixture in a temporary models directory.
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join as joinPath, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RoomState } from '../../contract/events.js';
import type { PhotoRoomCreated } from '../../contract/photo-room.js';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, createRoom, startTestServer, tempDir, user, type ClientSocket } from './helpers.js';
import { quadrants, upload } from './photo-upload-helpers.js';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/diffusion/tiny');

describe("a room's model kind is kept with the room", () => {
  const tmp = tempDir();
  const sockets: ClientSocket[] = [];
  let server: StudioServer | undefined;

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.close();
    tmp.cleanup();
  });

  async function roomOf(token: string): Promise<RoomState['room']> {
    const socket = await connectSocket(server!.url);
    sockets.push(socket);
    return (await call<{ state: RoomState }>(socket, 'room:join', { token, user: user('ann') })).state.room;
  }

  it('says which model is missing after a restart without it, for a diffusion room and a GAN room', async () => {
    const models = joinPath(tmp.dir, 'models');
    mkdirSync(models);
    cpSync(FIXTURE, joinPath(models, 'tinydiff'), { recursive: true, filter: (src) => !src.endsWith('reference.safetensors') });
    const db = joinPath(tmp.dir, 'studio.db');
    server = await startTestServer(db, { modelsDir: models });
    const res = await upload(server.url, await quadrants(48, 40).png().toBuffer(), { model: 'tinydiff', crop: '4,0,40,40' });
    expect(res.status).toBe(201);
    const diff = res.answer as PhotoRoomCreated;
    const gan = await createRoom(server.url);
    expect(await roomOf(diff.editToken)).toMatchObject({ modelKind: 'diffusion', modelAvailable: true });
    expect(await roomOf(gan.editToken)).toMatchObject({ modelKind: 'gan', modelAvailable: true });
    expect((await server.store.get(diff.roomId))!.modelKind).toBe('diffusion');
    for (const s of sockets.splice(0)) s.disconnect();
    await server.close();

    // Restart with neither model: the diffusion folder removed, the GAN model no longer configured.
    rmSync(joinPath(models, 'tinydiff'), { recursive: true });
    server = await startTestServer(db, { models: [], modelsDir: models });
    expect(await roomOf(diff.editToken)).toMatchObject({ model: 'tinydiff', modelKind: 'diffusion', modelAvailable: false, width: 16, height: 16 });
    expect(await roomOf(gan.editToken)).toMatchObject({ modelKind: 'gan', modelAvailable: false });
    const socket = await connectSocket(server.url);
    sockets.push(socket);
    await call(socket, 'room:join', { token: diff.editToken, user: user('bob') });
    await expect(call(socket, 'run:start')).rejects.toThrow(/tinydiff/);
  }, 120_000);
});
