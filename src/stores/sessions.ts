// Console sessions, addressed by a hash of the session id (the cookie value), never the id itself:
// a dump of the store signs nobody in. Redis when configured (shared by replicas), process memory
// for the embedded default. A record expires on its own at its idle or absolute end, whichever
// comes first; identity/sessions.ts decides what those are.

export interface SessionRecord {
  userId: string;
  /** Sent back in `X-CSRF-Token` with every change made with this session. */
  csrfToken: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  lastSeenAt: number;
  /** Ties the session to the password it was opened with: a new password ends it. */
  passwordStamp: string;
  /** Where and with what the session was opened, for the person's list of their sessions. */
  ip?: string | null;
  userAgent?: string | null;
  /**
   * The account (tenant) the person works in, when they switched into one below their own;
   * absent or null = their own tenant. Checked again on every request (identity/sessions.ts).
   */
  activeTenantId?: string | null;
  /**
   * Set on what is left of a session a password change moved to a new id: the hash of that id.
   * Such a record signs nobody in; ending it ends the session it moved to (identity/sessions.ts).
   */
  movedTo?: string;
}

/** A live session found through its user's index: the id hash stays inside the domain. */
export interface IndexedSession {
  idHash: string;
  record: SessionRecord;
}

export interface SessionStore {
  readonly kind: 'redis' | 'memory';
  /** Stores (or replaces) the record until `expiresAt` (ms since the epoch). */
  save(idHash: string, record: SessionRecord, expiresAt: number): Promise<void>;
  /**
   * Replaces the record only while it still exists, and says whether it did: a session ended
   * (sign-out, a new sign-in) while a request was reading it stays ended.
   */
  refresh(idHash: string, record: SessionRecord, expiresAt: number): Promise<boolean>;
  find(idHash: string): Promise<SessionRecord | undefined>;
  /** Ends the session; returns the record this call removed (undefined: it was gone already). */
  destroy(idHash: string): Promise<SessionRecord | undefined>;
  /**
   * The user's live sessions, through a per-user index that save and refresh keep and that sheds
   * expired and ended entries as it goes, so it never grows past the user's live sessions.
   */
  listForUser(userId: string): Promise<IndexedSession[]>;
  close(): Promise<void>;
}

export function encodeSession(record: SessionRecord): string {
  return JSON.stringify(record);
}

/** A record in any other shape reads as no session. */
export function decodeSession(text: string): SessionRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<SessionRecord>;
    const ok =
      typeof value.userId === 'string'
      && typeof value.csrfToken === 'string'
      && typeof value.createdAt === 'number'
      && typeof value.lastSeenAt === 'number'
      && typeof value.passwordStamp === 'string'
      && (value.ip === undefined || value.ip === null || typeof value.ip === 'string')
      && (value.userAgent === undefined || value.userAgent === null || typeof value.userAgent === 'string')
      && (value.activeTenantId === undefined || value.activeTenantId === null || typeof value.activeTenantId === 'string')
      && (value.movedTo === undefined || typeof value.movedTo === 'string');
    return ok ? (value as SessionRecord) : undefined;
  } catch {
    return undefined;
  }
}
