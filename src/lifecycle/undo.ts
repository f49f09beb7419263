/**
 * The reversal stack of an operation that builds things step by step (create, exec). Each step
 * that makes something pushes its reversal right after it succeeded; on failure they run newest
 * first and their errors are collected on the original error, never replacing it. Node 20 has no
 * DisposableStack, hence this small class.
 */
import { TsrunError, isGone, wrap } from '../errors.js';

type Reversal = { what: string; run: () => void | Promise<void> };

export class Undo {
  private stack: Reversal[] = [];

  push(what: string, run: () => void | Promise<void>): void {
    this.stack.push({ what, run });
  }

  /** Success: nothing is undone. */
  commit(): void {
    this.stack = [];
  }

  /** Failure: undoes everything, newest first; returns `cause` (wrapped) with cleanup errors attached. */
  async rollback(cause: unknown): Promise<TsrunError> {
    const err = cause instanceof TsrunError ? cause : wrap(cause, 'internal error');
    while (this.stack.length) {
      const step = this.stack.pop()!;
      try {
        await step.run();
      } catch (e) {
        if (!isGone(e)) err.cleanupErrors.push(wrap(e, `undo ${step.what}`));
      }
    }
    return err;
  }
}
