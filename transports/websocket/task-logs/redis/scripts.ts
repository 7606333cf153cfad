/**
 * What the Redis adapter keeps in Redis, and the Lua scripts that change it,
 * each run atomically by Redis (issue 16).
 *
 * One Redis (or a primary with replicas: Sentinel) only; Redis Cluster is
 * not supported. A task's keys share a hash tag (the braces below), but one
 * run of the log script carries the lines of many tasks, and the scripts
 * read keys they do not declare (a process's liveness key), so on a cluster
 * they would fail with CROSSSLOT.
 *
 * Per task, with `P` the key prefix and `T` the task id:
 * - `P{T}:lines`: a stream, one entry per line, its id `<seq>-0`, the line
 *   (the viewer's JSON, `seq` in it) in field `l`. Explicit ids make "the
 *   lines after `lastSeq`" one `XRANGE (lastSeq +`, and keep ids meaningful
 *   when the 100 → 50 rule deletes a run of queued lines in the middle;
 *   a list would need a seq → index map that such a deletion breaks.
 * - `P{T}:meta`: a hash. `seq`: the last seq given out. `d`: lines up to it
 *   count as sent to a viewer; above it is the queue, `q` lines. `owner`: the
 *   viewer that claimed the task (`<process>:<child id>`), or `?` when Redis
 *   lost the task's state (see `log`); `floor`: `d` when the owner claimed
 *   it; `a`: the last seq the owner's socket is known to have taken (its
 *   process says so every few dozen lines). The stream keeps every line
 *   above `max(a, floor)` (a failed viewer's process gives back all it did
 *   not take), the newest `maxSent` up to `d` (for `lastSeq` resume) and the
 *   queue. `r`: the task was dropped (`hub.disconnect`) and numbered from 1
 *   again: what a producer remembers no longer counts. `p:<process>`: the id
 *   of the last line that process logged here, so a line sent again after a
 *   lost link is not logged twice.
 * - `P{T}:lost`: set for `liveMs` when Redis had lost the task (owner `?`).
 * - channel `P{T}` (the meta key without `:meta`): `<seq> <line>` for each
 *   line, `claim <owner>` when a viewer takes the task, `disconnect` when the
 *   task is dropped. Only processes with a viewer of the task subscribe.
 * Per process: `Pproc:<process>`, kept alive for `liveMs` (refreshed
 * several times per `liveMs`): an owner whose process's key is gone (the
 * process died, or lost Redis for that long) counts as no owner.
 *
 * Both task keys expire `ttlMs` after the task's last line or claim: every
 * line refreshes them once they have less than `ttlMs` minus a minute (or
 * minus half of `ttlMs`, if less) left.
 *
 * The hub's numbers (`maxQueued`, `keepOnOverflow`, the TTLs) are written
 * into the scripts when the adapter binds to its hub (`taskScripts`), so a
 * line's command carries only what is its own.
 */
import { createHash } from 'node:crypto';

/** A task's two keys and its channel (its `lost` mark is `<channel>:lost`). */
export function taskKeys(prefix: string, taskId: string): { meta: string; lines: string; channel: string } {
  const tag = `${prefix}{${taskId}}`;
  return { meta: `${tag}:meta`, lines: `${tag}:lines`, channel: tag };
}

/** The liveness key of process `processId`. */
export function processKey(prefix: string, processId: string): string {
  return `${prefix}proc:${processId}`;
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
  /** Integer ms. */
  ttlMs: number;
  /** How long a process's liveness key (and a task's `lost` mark) lasts, integer ms. */
  liveMs: number;
}

/**
 * `log`: the lines of one turn, in order, each for its own task. KEYS: meta,
 * lines of each line's task. ARGV: the process field (`p:<id>`), the
 * liveness key prefix (`Pproc:`), then per line: head (the line is
 * `head .. seq .. '}'`), known (the highest seq this process knows for the
 * task: a Redis that lost its data goes on from there), line id (0: none).
 * Returns `{seq, sent, queued, dropped}` per line (`sent` 1: the line went
 * to the owner's process with nothing queued before it); `{-1, 0, 0, 0}` for
 * a line already logged (sent again after a lost link); `{-2, error, 0, 0}`
 * for a line Redis refused (a key of another type): nothing of it was
 * written, and the other lines go on.
 *
 * A line published to the owner's process while nothing is queued counts as
 * sent (`d` moves up; that process gives it back if its viewer does not get
 * it). Otherwise it is queued (also while the owner is `?`: no viewer has
 * claimed it, and a claim from the queue must find the line). With nobody subscribed: a task no live viewer
 * owns keeps the hub's rule (past `maxQueued`, only the newest `keep` stay);
 * a task whose viewer's process is alive but cannot hear Redis right now
 * (its subscriber is reconnecting) keeps the newest `ownerCap`, as that
 * viewer's connection would in one process. An owner whose process's
 * liveness key is gone is no owner.
 * Redis that lost the task (`known` above `seq`, and no `r`: restarted
 * empty, or the keys expired) cannot tell whether it had a viewer: it is
 * treated as owned (`?`) for `liveMs`, so a viewer whose process reconnects
 * after the producer's does not lose the lines sent meanwhile. A producer's
 * memory only ever raises the counter (no seq is given out twice); after
 * `hub.disconnect` (`r`) it does not count at all.
 */
const LOG = `
local pfield, live = ARGV[1], ARGV[2]
local alive = {}
local function owned(owner, tag)
  if not owner then return false end
  local key
  if owner == '?' then key = tag .. ':lost' else key = live .. string.match(owner, '^[^:]*') end
  local a = alive[key]
  if a == nil then
    a = redis.call('EXISTS', key) == 1
    alive[key] = a
  end
  return a
end
local out = {}
for i = 1, #KEYS / 2 do
  local meta, lines, at = KEYS[2 * i - 1], KEYS[2 * i], 3 * i
  local pn = tonumber(ARGV[at + 2])
  local h = redis.pcall('HMGET', meta, 'seq', 'd', 'q', 'owner', 'r', pfield, 'a', 'floor')
  if h.err then
    out[#out + 1] = -2; out[#out + 1] = h.err; out[#out + 1] = 0; out[#out + 1] = 0
  elseif pn > 0 and pn <= tonumber(h[6] or '0') then
    out[#out + 1] = -1; out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = 0
  else
    local stored, owner = tonumber(h[1] or '0'), h[4]
    local known = 0
    if not h[5] then known = tonumber(ARGV[at + 1]) end
    local seq = math.max(stored, known) + 1
    local tag = string.sub(meta, 1, -6)
    local line = ARGV[at] .. seq .. '}'
    local added = redis.pcall('XADD', lines, seq .. '-0', 'l', line)
    if type(added) == 'table' and added.err then
      out[#out + 1] = -2; out[#out + 1] = added.err; out[#out + 1] = 0; out[#out + 1] = 0
    else
      local fields = {'seq', seq}
      if stored < known and not owner then
        owner = '?'
        fields[#fields + 1] = 'owner'; fields[#fields + 1] = '?'
        redis.call('SET', tag .. ':lost', 1, 'PX', LIVE_MS)
        alive[tag .. ':lost'] = true
      end
      local n = redis.call('PUBLISH', tag, seq .. ' ' .. line)
      local d, q = tonumber(h[2] or '0'), tonumber(h[3] or '0')
      local mine = owned(owner, tag)
      local dropped, sent = 0, 0
      if n > 0 and q == 0 and mine and owner ~= '?' then
        d = seq
        sent = 1
        if seq % 16 == 0 then
          local mark = math.max(tonumber(h[7] or '0'), tonumber(h[8] or '0'))
          redis.call('XTRIM', lines, 'MINID', '~', math.max(math.min(mark + 1, d - MAX_SENT + 1), 0))
        end
      else
        q = q + 1
        local cap, keep = MAX_QUEUED, KEEP
        if mine then cap, keep = OWNER_CAP, OWNER_CAP end
        if n == 0 and q > cap then
          local old = redis.call('XRANGE', lines, '(' .. d, '+', 'COUNT', q - keep)
          for j = 1, #old do redis.call('XDEL', lines, old[j][1]) end
          dropped = #old
          q = q - dropped
        end
      end
      fields[#fields + 1] = 'd'; fields[#fields + 1] = d
      fields[#fields + 1] = 'q'; fields[#fields + 1] = q
      if pn > 0 then fields[#fields + 1] = pfield; fields[#fields + 1] = pn end
      redis.call('HSET', meta, unpack(fields))
      if redis.call('PTTL', lines) < TTL_MS - TTL_SLACK then
        redis.call('PEXPIRE', meta, TTL_MS)
        redis.call('PEXPIRE', lines, TTL_MS)
      end
      out[#out + 1] = seq; out[#out + 1] = sent; out[#out + 1] = q; out[#out + 1] = dropped
    end
  end
end
return out
`;

/**
 * `claim`: a viewer takes the task. KEYS meta, lines. ARGV owner, from (-1:
 * from `d`, the queue; else the viewer's `lastSeq`, or what it was handed),
 * mode (`take`: a new viewer; `keep`: the same viewer catching up after its
 * process lost Redis), accepted (the last seq its socket took), the
 * liveness key prefix (the claimer's process is alive: its key is set, so
 * lines logged before its own refresh lands count it as the owner).
 *
 * Returns `{d, seq, base, id1, line1, id2, line2, ...}`: `d` before the
 * claim, the last seq, where the lines start (`base`) and every kept line
 * after it. `{-2}` in `keep` mode when another viewer took the task
 * meanwhile, `{-3}` when it was dropped (`hub.disconnect`) meanwhile.
 *
 * A `from` above the task's seq (the task was dropped and numbered again,
 * its keys expired, Redis restarted empty, or a made-up `lastSeq`) is not
 * trusted: the viewer gets the queue and then every new line, as in one
 * process (`base` is `d`). In `keep` mode the counter is also raised to
 * `from`, so new lines are numbered above what this viewer has already
 * seen, whatever a producer remembers.
 *
 * Everything up to `seq` now counts as sent (the claimer delivers it or
 * gives it back); `floor` remembers `d` as it was, so a release never queues
 * again what an earlier viewer had; `a` starts at what the viewer had.
 * Another owner hears `claim <owner>` on the channel and closes its viewer.
 */
const CLAIM = `
local meta, lines = KEYS[1], KEYS[2]
local owner, mode = ARGV[1], ARGV[3]
redis.call('SET', ARGV[5] .. string.match(owner, '^[^:]*'), 1, 'PX', LIVE_MS)
local h = redis.call('HMGET', meta, 'seq', 'd', 'owner', 'r', 'floor')
local cur = h[3]
if mode == 'keep' and cur ~= owner then
  if cur and cur ~= '?' then return {-2} end
  if not cur and h[4] then return {-3} end
end
local seq, d = tonumber(h[1] or '0'), tonumber(h[2] or '0')
local from = tonumber(ARGV[2])
local top, base = seq, from
if from < 0 or from > seq then
  base = d
  if mode == 'keep' and from > seq then top = from end
end
local accepted = math.min(tonumber(ARGV[4]), base)
local floor = tonumber(h[5] or '0')
if cur ~= owner then
  if cur and cur ~= '?' then redis.call('PUBLISH', string.sub(meta, 1, -6), 'claim ' .. owner) end
  floor = d
end
redis.call('HSET', meta, 'owner', owner, 'seq', top, 'd', top, 'q', 0, 'floor', floor, 'a', accepted)
local out = {d, top, base}
if base < seq then
  local rows = redis.call('XRANGE', lines, '(' .. base, '+')
  for i = 1, #rows do
    out[#out + 1] = rows[i][1]
    out[#out + 1] = rows[i][2][2]
  end
end
redis.call('XTRIM', lines, 'MINID', '~', math.max(math.min(math.max(accepted, floor) + 1, top - MAX_SENT + 1), 0))
redis.call('PEXPIRE', meta, TTL_MS)
redis.call('PEXPIRE', lines, TTL_MS)
return out
`;

/**
 * `mark`: the owners' sockets took lines up to a seq: the stream may let go
 * of the older ones. KEYS meta, lines per task; ARGV owner, accepted per
 * task. A task another viewer owns by now is left alone. Returns 1.
 */
const MARK = `
for i = 1, #KEYS / 2 do
  local meta, lines = KEYS[2 * i - 1], KEYS[2 * i]
  local h = redis.pcall('HMGET', meta, 'owner', 'a', 'floor', 'd')
  if not h.err and h[1] == ARGV[2 * i - 1] then
    local a = math.max(tonumber(ARGV[2 * i]), tonumber(h[2] or '0'))
    redis.call('HSET', meta, 'a', a)
    redis.pcall('XTRIM', lines, 'MINID', '~', math.max(math.min(math.max(a, tonumber(h[3] or '0')) + 1, tonumber(h[4] or '0') - MAX_SENT + 1), 0))
  end
end
return 1
`;

/**
 * `release`: a viewer is gone. KEYS meta, lines. ARGV owner, upTo (the last
 * seq its socket took). Lines after `max(upTo, floor)` are queued again
 * (all of them: the stream keeps every line above the owner's `a`). Returns
 * the queue length, or -1 when `owner` no longer owns the task (a newer
 * viewer claimed it: nothing to give back). Past `maxQueued`, the next line
 * applies the 100 → 50 rule, as in one process.
 */
const RELEASE = `
local meta, lines = KEYS[1], KEYS[2]
local h = redis.call('HMGET', meta, 'owner', 'd', 'q', 'floor')
if h[1] ~= ARGV[1] then return -1 end
redis.call('HDEL', meta, 'owner', 'a')
local d = tonumber(h[2] or '0')
local upTo = math.max(tonumber(ARGV[2]), tonumber(h[4] or '0'))
if upTo >= d then return tonumber(h[3] or '0') end
local q = #redis.call('XRANGE', lines, '(' .. upTo, '+')
redis.call('HSET', meta, 'd', upTo, 'q', q)
return q
`;

/**
 * `drop`: `hub.disconnect(taskId)`. KEYS meta, lines. Tells the viewer's
 * process, then forgets the task, leaving `r` so it is numbered from 1
 * again whatever a producer on another process knew, and a viewer whose
 * process was away learns it was dropped.
 */
const DROP = `
local tag = string.sub(KEYS[1], 1, -6)
redis.call('PUBLISH', tag, 'disconnect')
redis.call('DEL', KEYS[1], KEYS[2], tag .. ':lost')
redis.call('HSET', KEYS[1], 'r', 1)
redis.call('PEXPIRE', KEYS[1], TTL_MS)
return 1
`;

export type ScriptName = 'log' | 'claim' | 'mark' | 'release' | 'drop';

/** The five scripts with `limits` written in: each one's Lua source and SHA1 (for `EVALSHA`). */
export function taskScripts(limits: ScriptLimits): Record<ScriptName, { lua: string; sha: string }> {
  const fill = (lua: string) =>
    lua
      .replaceAll('MAX_QUEUED', String(limits.maxQueued))
      .replaceAll('MAX_SENT', String(limits.maxSent))
      .replaceAll('OWNER_CAP', String(limits.ownerCap))
      .replaceAll('KEEP', String(limits.keep))
      .replaceAll('TTL_SLACK', String(Math.min(Math.floor(limits.ttlMs / 2), 60_000)))
      .replaceAll('TTL_MS', String(limits.ttlMs))
      .replaceAll('LIVE_MS', String(limits.liveMs));
  const made = (source: string) => {
    const lua = fill(source);
    return { lua, sha: createHash('sha1').update(lua).digest('hex') };
  };
  return { log: made(LOG), claim: made(CLAIM), mark: made(MARK), release: made(RELEASE), drop: made(DROP) };
}
