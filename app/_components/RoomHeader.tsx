'use client';
/** The room's top bar: title, role, people here, connection status, share links, and my name. */
import { useState } from 'react';
import Link from 'next/link';
import type { PublicUser, Role } from '../../contract/events';
import type { DocStatus, Peer } from '../_lib/use-shared-doc';
import { PALETTE } from '../_lib/identity';

export function RoomHeader(props: {
  title: string;
  role: Role | null;
  peers: Peer[];
  me: PublicUser | null;
  onRename(patch: Partial<Pick<PublicUser, 'name' | 'color'>>): void;
  status: { socket: boolean; doc: DocStatus };
  onReconnect(): void;
  links: { edit?: string; view: string } | null;
  onReplaceLinks(which: 'view' | 'both'): void;
}) {
  return (
    <header className="topbar">
      <div className="topbar-left">
        <Link href="/" className="brand" title="All rooms">
          <span className="brand-mark">◆</span> StableDrag
        </Link>
        <span className="divider" />
        <h1 className="room-title">{props.title}</h1>
        {props.role && (
          <span className={`badge ${props.role}`} data-testid="role-badge">
            {props.role === 'edit' ? 'Editing' : 'Watching'}
          </span>
        )}
      </div>
      <div className="topbar-right">
        <Avatars peers={props.peers} />
        <ConnectionBadge socket={props.status.socket} doc={props.status.doc} onReconnect={props.onReconnect} />
        {props.links && <ShareLinks links={props.links} onReplace={props.onReplaceLinks} />}
        {props.me && <Me me={props.me} onRename={props.onRename} />}
      </div>
    </header>
  );
}

function initials(name: string): string {
  return name.split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
}

function Avatars({ peers }: { peers: Peer[] }) {
  const shown = peers.slice(0, 6);
  return (
    <div className="avatars" data-testid="avatars" aria-label={`${peers.length} here`}>
      {shown.map((p) => (
        <span key={p.clientId} className="avatar" style={{ background: p.user.color }} title={`${p.user.name}${p.self ? ' (you)' : ''}`} data-name={p.user.name}>
          {initials(p.user.name)}
        </span>
      ))}
      {peers.length > shown.length && <span className="avatar more">+{peers.length - shown.length}</span>}
    </div>
  );
}

function ConnectionBadge({ socket, doc, onReconnect }: { socket: boolean; doc: DocStatus; onReconnect(): void }) {
  let label = 'Live';
  let cls = 'ok';
  if (doc === 'refused') [label, cls] = ['Link not valid', 'bad'];
  else if (doc === 'revoked') [label, cls] = ['Link revoked · ask for a new one', 'bad'];
  else if (!socket || doc === 'offline') [label, cls] = ['Offline · reconnecting', 'bad'];
  else if (doc === 'connecting' || doc === 'syncing') [label, cls] = ['Syncing…', 'warn'];
  return (
    <div className={`conn ${cls}`} data-testid="connection" data-state={cls}>
      <span className="conn-dot" />
      {label}
      {cls === 'bad' && doc !== 'refused' && doc !== 'revoked' && (
        <button type="button" className="link-btn" onClick={onReconnect}>
          Reconnect
        </button>
      )}
    </div>
  );
}

function ShareLinks({ links, onReplace }: { links: { edit?: string; view: string }; onReplace(which: 'view' | 'both'): void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const [replacing, setReplacing] = useState(false);
  const copy = async (kind: string, token: string) => {
    const url = `${location.origin}/r/${token}`;
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      // Clipboard needs a secure context; fall back to a prompt the user can copy from.
      window.prompt('Copy this link', url);
    }
    setCopied(kind);
    setTimeout(() => setCopied(null), 1500);
  };
  return (
    <div className="share">
      {links.edit && (
        <button type="button" className="btn small" onClick={() => copy('edit', links.edit!)} data-testid="copy-edit-link" title="Anyone with this link can edit">
          {copied === 'edit' ? 'Copied ✓' : 'Copy edit link'}
        </button>
      )}
      <button type="button" className="btn small ghost" onClick={() => copy('view', links.view)} data-testid="copy-view-link" title="Anyone with this link can watch">
        {copied === 'view' ? 'Copied ✓' : 'Copy watch link'}
      </button>
      {links.edit && (
        <button type="button" className="btn small ghost" onClick={() => setReplacing((o) => !o)} data-testid="replace-links" title="Stop a leaked link from working">
          Replace links…
        </button>
      )}
      {replacing && (
        <div className="popover" onMouseLeave={() => setReplacing(false)} data-testid="replace-links-menu">
          <p className="muted small">Everyone using a replaced link is put out of the room at once. You stay, with the new links.</p>
          <button type="button" className="btn small" data-testid="replace-view-link" onClick={() => (setReplacing(false), onReplace('view'))}>
            New watch link
          </button>
          <button type="button" className="btn small danger" data-testid="replace-both-links" onClick={() => (setReplacing(false), onReplace('both'))}>
            New edit and watch links
          </button>
        </div>
      )}
    </div>
  );
}

function Me({ me, onRename }: { me: PublicUser; onRename(patch: Partial<Pick<PublicUser, 'name' | 'color'>>): void }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="me">
      <button type="button" className="avatar me-avatar" style={{ background: me.color }} onClick={() => setOpen((o) => !o)} title="Your name and colour">
        {initials(me.name)}
      </button>
      {open && (
        <div className="popover" onMouseLeave={() => setOpen(false)}>
          <label className="field">
            <span className="field-label">Your name</span>
            <input defaultValue={me.name} maxLength={40} onBlur={(e) => onRename({ name: e.target.value.trim() })} onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()} />
          </label>
          <div className="swatches">
            {PALETTE.map((c) => (
              <button key={c} type="button" className={`swatch ${c === me.color ? 'on' : ''}`} style={{ background: c }} onClick={() => onRename({ color: c })} aria-label={c} />
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
