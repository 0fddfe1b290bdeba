// The batcher of audit/group-commit.ts on its own, with Node's fake timers: when a flush starts,
// what it carries, and how each submitter learns the outcome of its own flush.
import { mock } from 'node:test';
import t from 'tap';
import { GroupCommit } from '../../src/audit/group-commit.js';

interface Flush {
  readonly items: readonly number[];
  finish(): void;
  fail(error: unknown): void;
}

/** A batcher whose flushes stay open until the test finishes or fails them. */
function batcher(delayMs: number, maxItems: number, maxFlushes: number) {
  const flushes: Flush[] = [];
  const commit = new GroupCommit<number>({
    delayMs,
    maxItems,
    maxFlushes,
    flush: (items) =>
      new Promise<void>((resolve, reject) => {
        flushes.push({ items, finish: resolve, fail: reject });
      }),
  });
  return { commit, flushes };
}

/** Lets settled promises run their continuations. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

function track(promise: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const result: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (result.state = 'resolved'),
    (error: unknown) => {
      result.state = 'rejected';
      result.error = error;
    }
  );
  return result;
}

t.beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] }));
t.afterEach(() => mock.timers.reset());

t.test('idle, a record goes on the next turn; while a flush is in flight, it waits the delay for company', async (t) => {
  const { commit, flushes } = batcher(5, 100, 2);
  const first = track(commit.submit(1));
  t.equal(flushes.length, 0, 'not within the turn that submitted it');
  mock.timers.tick(0);
  t.same(flushes[0]?.items, [1], 'an idle batcher does not wait the delay');
  const a = track(commit.submit(2));
  mock.timers.tick(3);
  const b = track(commit.submit(3));
  mock.timers.tick(1);
  t.equal(flushes.length, 1, 'no second flush before the delay of its first record has passed');
  mock.timers.tick(1);
  t.equal(flushes.length, 2);
  t.same(flushes[1]?.items, [2, 3], 'both records in one flush');
  await settle();
  t.equal(a.state, 'pending', 'a submitter waits for the commit of its flush');
  flushes[1]?.finish();
  await settle();
  t.equal(a.state, 'resolved');
  t.equal(b.state, 'resolved');
  t.equal(first.state, 'pending', 'each flush settles only its own submitters');
  flushes[0]?.finish();
  await settle();
  t.equal(first.state, 'resolved');
});

t.test('a full batch flushes at once, without waiting for the delay', async (t) => {
  const { commit, flushes } = batcher(1000, 3, 2);
  const pending = [1, 2, 3, 4].map((n) => track(commit.submit(n)));
  t.equal(flushes.length, 1, 'the third record filled the batch');
  t.same(flushes[0]?.items, [1, 2, 3]);
  t.equal(commit.queued, 1, 'the fourth waits for its own delay');
  mock.timers.tick(1000);
  t.same(flushes[1]?.items, [4]);
  flushes[0]?.finish();
  flushes[1]?.finish();
  await settle();
  t.same(
    pending.map((p) => p.state),
    ['resolved', 'resolved', 'resolved', 'resolved']
  );
});

t.test('records queued during a flush go together in the next one when the slot frees', async (t) => {
  const { commit, flushes } = batcher(2, 100, 1);
  const first = track(commit.submit(1));
  mock.timers.tick(2);
  t.equal(flushes.length, 1);
  const later = [2, 3, 4].map((n) => track(commit.submit(n)));
  mock.timers.tick(10);
  t.equal(flushes.length, 1, 'one flush at a time: the others wait although their delay is over');
  flushes[0]?.finish();
  await settle();
  t.equal(first.state, 'resolved');
  t.equal(flushes.length, 2, 'the next flush starts as the slot frees');
  t.same(flushes[1]?.items, [2, 3, 4], 'carrying everything queued meanwhile');
  t.ok(later.every((p) => p.state === 'pending'), 'they wait for their own flush');
  flushes[1]?.finish();
  await settle();
  t.ok(later.every((p) => p.state === 'resolved'));
});

t.test('up to maxFlushes flushes run at the same time', async (t) => {
  const { commit, flushes } = batcher(2, 100, 2);
  void commit.submit(1).catch(() => undefined);
  mock.timers.tick(2);
  void commit.submit(2).catch(() => undefined);
  mock.timers.tick(2);
  void commit.submit(3).catch(() => undefined);
  mock.timers.tick(2);
  t.equal(flushes.length, 2, 'a second flush while the first is in flight, no third');
  flushes[0]?.finish();
  await settle();
  t.equal(flushes.length, 3);
  t.same(
    flushes.map((f) => f.items),
    [[1], [2], [3]]
  );
  flushes[1]?.finish();
  flushes[2]?.finish();
});

t.test('a failed flush rejects every submitter in it with its error, and only those', async (t) => {
  const { commit, flushes } = batcher(0, 100, 2);
  const a = track(commit.submit(1));
  const b = track(commit.submit(2));
  mock.timers.tick(0);
  t.equal(flushes.length, 1, 'delay 0: the records of one turn go together on the next');
  const c = track(commit.submit(3));
  mock.timers.tick(0);
  const failure = new Error('insert failed');
  flushes[0]?.fail(failure);
  flushes[1]?.finish();
  await settle();
  t.equal(a.state, 'rejected');
  t.equal(a.error, failure);
  t.equal(b.state, 'rejected');
  t.equal(c.state, 'resolved', 'another flush is not affected');
});

t.test('close flushes what is queued at once and waits for every flush', async (t) => {
  const { commit, flushes } = batcher(60_000, 100, 1);
  const a = track(commit.submit(1));
  const b = track(commit.submit(2));
  let closed = false;
  const closing = commit.close().then(() => (closed = true));
  t.same(flushes[0]?.items, [1, 2], 'no waiting for the delay');
  const late = track(commit.submit(3));
  await settle();
  t.equal(closed, false, 'close waits for the flush in flight');
  flushes[0]?.finish();
  await settle();
  t.same(flushes[1]?.items, [3], 'a record submitted while closing is flushed too');
  flushes[1]?.finish();
  await closing;
  t.equal(a.state, 'resolved');
  t.equal(b.state, 'resolved');
  t.equal(late.state, 'resolved');
});
