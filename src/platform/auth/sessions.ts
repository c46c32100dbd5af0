// Long-lived things a key opened on this gateway (graphql-ws sockets, SSE
// streams), by key id, so a revocation can end them and the socket cap can
// count them.
export type SessionKind = 'socket' | 'stream';

interface Session {
  kind: SessionKind;
  end(reason: string): void;
}

export class KeySessions {
  private readonly byKey = new Map<string, Set<Session>>();

  /** Registers a session; the returned function unregisters it (call it when it closes). */
  hold(keyId: string, kind: SessionKind, end: (reason: string) => void): () => void {
    let set = this.byKey.get(keyId);
    if (!set) this.byKey.set(keyId, (set = new Set()));
    const session: Session = { kind, end };
    set.add(session);
    return () => {
      set.delete(session);
      if (!set.size && this.byKey.get(keyId) === set) this.byKey.delete(keyId);
    };
  }

  count(keyId: string, kind: SessionKind): number {
    let n = 0;
    for (const session of this.byKey.get(keyId) ?? []) if (session.kind === kind) n++;
    return n;
  }

  /** Ends every session of the key; returns how many there were. */
  endAll(keyId: string, reason: string): number {
    const set = this.byKey.get(keyId);
    if (!set) return 0;
    this.byKey.delete(keyId);
    for (const session of set) {
      try {
        session.end(reason);
      } catch {
        // One session failing to close must not keep the others open.
      }
    }
    return set.size;
  }

  /** Key ids with at least one live session. */
  keyIds(): string[] {
    return [...this.byKey.keys()];
  }
}
