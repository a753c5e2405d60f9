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
  /**
   * The account (tenant) the person works in, when they switched into one below their own;
   * absent or null = their own tenant. Checked again on every request (identity/sessions.ts).
   */
  activeTenantId?: string | null;
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
  destroy(idHash: string): Promise<void>;
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
      && (value.activeTenantId === undefined || value.activeTenantId === null || typeof value.activeTenantId === 'string');
    return ok ? (value as SessionRecord) : undefined;
  } catch {
    return undefined;
  }
}
