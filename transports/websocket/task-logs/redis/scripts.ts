/**
 * What the Redis adapter keeps in Redis, and the Lua scripts that change it,
 * each run atomically by Redis (issue 16).
 *
 * Per task, with `P` the key prefix and `T` the task id (the braces are a
 * Redis Cluster hash tag: a task's keys share a slot):
 * - `P{T}:lines`: a stream, one entry per line, its id `<seq>-0`, the line
 *   (the viewer's JSON, `seq` in it) in field `l`. Explicit ids make "the
 *   lines after `lastSeq`" one `XRANGE (lastSeq +`, and keep ids meaningful
 *   when the 100 → 50 rule deletes a run of queued lines in the middle;
 *   a list would need a seq → index map that such a deletion breaks.
 * - `P{T}:meta`: a hash. `seq`: the last seq given out. `d`: lines up to it
 *   count as sent to a viewer; the stream holds the newest `maxSent` of those
 *   (for `lastSeq` resume) and everything above `d`: the queue, `q` lines.
 *   `owner`: the viewer that claimed the task (`<process>:<child id>`), or
 *   `?` when Redis lost the task's state (see `log`); `floor`: `d` when the
 *   owner claimed it. `reset`: the task was dropped (`hub.disconnect`): its
 *   next line is seq 1 again, whatever a producer knew. `p:<process>`: the
 *   id of the last line that process logged here, so a line sent again after
 *   a lost link is not logged twice.
 * - channel `P{T}` (the meta key without `:meta`): `<seq> <line>` for each
 *   line, `claim <owner>` when a viewer takes the task, `disconnect` when the
 *   task is dropped. Only processes with a viewer of the task subscribe, so
 *   `PUBLISH`'s count says whether any process has one.
 * Both keys expire `ttlMs` after the task's first line, refreshed every 32
 * lines and on each claim.
 *
 * The hub's numbers (`maxQueued`, `keepOnOverflow`, the TTL) are written into
 * the scripts when the adapter binds to its hub (`taskScripts`), so a line's
 * command carries only what is its own.
 */
import { createHash } from 'node:crypto';

/** A task's two keys and its channel. */
export function taskKeys(prefix: string, taskId: string): { meta: string; lines: string; channel: string } {
  const tag = `${prefix}{${taskId}}`;
  return { meta: `${tag}:meta`, lines: `${tag}:lines`, channel: tag };
}

/** The numbers the scripts are made with. */
export interface ScriptLimits {
  /** No owner: past this many queued, only the newest `keep` stay (the hub's `maxQueued`, `keepOnOverflow`). */
  maxQueued: number;
  keep: number;
  /** Sent lines kept for `lastSeq` resume (the hub's `maxQueued`, as in one process). */
  maxSent: number;
  /** An owner whose process cannot hear Redis: the newest this many queued lines stay. */
  ownerCap: number;
  ttlMs: number;
}

/**
 * `log`: the lines of one turn, in order, each for its own task. KEYS: meta,
 * lines of each line's task. ARGV: the process field (`p:<id>`), then per
 * line: head (the line is `head .. seq .. '}'`), known (the highest seq
 * this process knows for the task: a Redis that lost its data goes on from
 * there), line id (0: none). Returns `{seq, subscribers, queued, dropped}`
 * per line; `{-1, 0, 0, 0}` for a line already logged (sent again after a
 * lost link).
 *
 * A line published to a process with the owning viewer while nothing is
 * queued counts as sent (`d` moves up; that process gives it back if its
 * viewer does not get it). Otherwise it is queued. With nobody subscribed:
 * a task no viewer owns keeps the hub's rule (past `maxQueued`, only the
 * newest `keep` stay); a task whose viewer's process cannot hear Redis
 * right now (its subscriber is reconnecting, or the process died) keeps the
 * newest `ownerCap`, as that viewer's connection would in one process.
 * Redis that lost the task (`known` above `seq`: restarted empty, or the
 * keys expired) cannot tell whether it had a viewer: it is treated as owned
 * (`?`) until a viewer claims it, so a viewer whose process reconnects
 * after the producer's does not lose the lines sent meanwhile.
 */
const LOG = `
local pfield = ARGV[1]
local out = {}
for i = 1, #KEYS / 2 do
  local meta, lines = KEYS[2 * i - 1], KEYS[2 * i]
  local pn = tonumber(ARGV[3 * i + 1])
  local h = redis.call('HMGET', meta, 'seq', 'd', 'q', 'owner', 'reset', pfield)
  if pn > 0 and pn <= tonumber(h[6] or '0') then
    out[#out + 1] = -1; out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = 0
  else
    local stored, known, owner = tonumber(h[1] or '0'), tonumber(ARGV[3 * i]), h[4]
    if h[5] then
      known = 0
      redis.call('HDEL', meta, 'reset')
    elseif stored < known and not owner then
      owner = '?'
      redis.call('HSET', meta, 'owner', owner)
    end
    local seq = math.max(stored, known) + 1
    local d, q = tonumber(h[2] or '0'), tonumber(h[3] or '0')
    local line = ARGV[3 * i - 1] .. seq .. '}'
    redis.call('XADD', lines, seq .. '-0', 'l', line)
    local n = redis.call('PUBLISH', string.sub(meta, 1, -6), seq .. ' ' .. line)
    local dropped = 0
    if n > 0 and q == 0 and owner then
      d = seq
      if seq % 16 == 0 then redis.call('XTRIM', lines, 'MINID', '~', math.max(d - MAX_SENT + 1, 0)) end
    else
      q = q + 1
      local cap, keep = MAX_QUEUED, KEEP
      if owner then cap, keep = OWNER_CAP, OWNER_CAP end
      if n == 0 and q > cap then
        local old = redis.call('XRANGE', lines, '(' .. d, '+', 'COUNT', q - keep)
        for j = 1, #old do redis.call('XDEL', lines, old[j][1]) end
        dropped = #old
        q = q - dropped
      end
    end
    if pn > 0 then redis.call('HSET', meta, 'seq', seq, 'd', d, 'q', q, pfield, pn)
    else redis.call('HSET', meta, 'seq', seq, 'd', d, 'q', q) end
    if stored == 0 or seq % 32 == 1 then
      redis.call('PEXPIRE', meta, TTL_MS)
      redis.call('PEXPIRE', lines, TTL_MS)
    end
    out[#out + 1] = seq; out[#out + 1] = n; out[#out + 1] = q; out[#out + 1] = dropped
  end
end
return out
`;

/**
 * `claim`: a viewer takes the task. KEYS meta, lines. ARGV owner, from (-1:
 * from `d`, the queue; else the viewer's `lastSeq`), mode (`take`: a new
 * viewer; `keep`: the same viewer catching up after its process lost
 * Redis). Returns `{d, seq, id1, line1, id2, line2, ...}`: `d` before the
 * claim, the last seq, and every kept line after `from`; or `{-2}` in
 * `keep` mode when another viewer took the task meanwhile. Everything up to
 * `seq` now counts as sent (the claimer delivers it or gives it back);
 * `floor` remembers `d` as it was, so a release never queues again what an
 * earlier viewer had. Another owner hears `claim <owner>` on the channel and
 * closes its viewer.
 */
const CLAIM = `
local meta, lines = KEYS[1], KEYS[2]
local h = redis.call('HMGET', meta, 'seq', 'd', 'owner')
if ARGV[3] == 'keep' and h[3] and h[3] ~= ARGV[1] and h[3] ~= '?' then return {-2} end
local seq, d = tonumber(h[1] or '0'), tonumber(h[2] or '0')
local from = tonumber(ARGV[2])
if from < 0 then from = d end
if h[3] ~= ARGV[1] then
  if h[3] ~= '?' then redis.call('PUBLISH', string.sub(meta, 1, -6), 'claim ' .. ARGV[1]) end
  redis.call('HSET', meta, 'floor', d)
end
redis.call('HSET', meta, 'owner', ARGV[1], 'seq', seq, 'd', seq, 'q', 0)
local out = {d, seq}
if from < seq then
  local rows = redis.call('XRANGE', lines, '(' .. from, '+')
  for i = 1, #rows do
    out[#out + 1] = rows[i][1]
    out[#out + 1] = rows[i][2][2]
  end
end
redis.call('XTRIM', lines, 'MINID', '~', math.max(seq - MAX_SENT + 1, 0))
redis.call('PEXPIRE', meta, TTL_MS)
redis.call('PEXPIRE', lines, TTL_MS)
return out
`;

/**
 * `release`: a viewer is gone. KEYS meta, lines. ARGV owner, upTo (the last
 * seq its socket took). Lines after `max(upTo, floor)` are queued again.
 * Returns the queue length, or -1 when `owner` no longer owns the task (a
 * newer viewer claimed it: nothing to give back).
 */
const RELEASE = `
local meta, lines = KEYS[1], KEYS[2]
local h = redis.call('HMGET', meta, 'owner', 'd', 'q', 'floor')
if h[1] ~= ARGV[1] then return -1 end
redis.call('HDEL', meta, 'owner')
local d = tonumber(h[2] or '0')
local upTo = math.max(tonumber(ARGV[2]), tonumber(h[4] or '0'))
if upTo >= d then return tonumber(h[3] or '0') end
local q = #redis.call('XRANGE', lines, '(' .. upTo, '+')
redis.call('HSET', meta, 'd', upTo, 'q', q)
return q
`;

/**
 * `drop`: `hub.disconnect(taskId)`. KEYS meta, lines. Tells the viewer's
 * process, then forgets the task, leaving `reset` so its next line is seq 1
 * whatever a producer on another process knew.
 */
const DROP = `
redis.call('PUBLISH', string.sub(KEYS[1], 1, -6), 'disconnect')
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'reset', 1)
redis.call('PEXPIRE', KEYS[1], TTL_MS)
return 1
`;

export type ScriptName = 'log' | 'claim' | 'release' | 'drop';

/** The four scripts with `limits` written in: each one's Lua source and SHA1 (for `EVALSHA`). */
export function taskScripts(limits: ScriptLimits): Record<ScriptName, { lua: string; sha: string }> {
  const fill = (lua: string) =>
    lua
      .replaceAll('MAX_QUEUED', String(limits.maxQueued))
      .replaceAll('MAX_SENT', String(limits.maxSent))
      .replaceAll('OWNER_CAP', String(limits.ownerCap))
      .replaceAll('KEEP', String(limits.keep))
      .replaceAll('TTL_MS', String(limits.ttlMs));
  const made = (source: string) => {
    const lua = fill(source);
    return { lua, sha: createHash('sha1').update(lua).digest('hex') };
  };
  return { log: made(LOG), claim: made(CLAIM), release: made(RELEASE), drop: made(DROP) };
}
