-- wrk script for bench/run.sh, measurement 7: signed GitHub pushes, each a distinct delivery and commit, read from the
-- file in WEBHOOK_FILE (bench.py pushes). Every 10th request sends the previous one again (a redelivery), which the
-- panel must answer "duplicate" and not queue. Each thread takes every n-th line, so no two threads send the same one.
local threads, counter = {}, 0
local mine, sent, last = {}, 0, nil
local queued, duplicate, other = 0, 0, 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("WEBHOOK_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("WEBHOOK_FILE")) do
    if i % n == tid then
      local id, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      table.insert(mine, wrk.format("POST", os.getenv("WEBHOOK_PATH"), {
        ["Content-Type"] = "application/json", ["X-GitHub-Event"] = "push",
        ["X-GitHub-Delivery"] = id, ["X-Hub-Signature-256"] = sig }, body))
    end
    i = i + 1
  end
end

function request()
  sent = sent + 1
  if sent % 10 == 0 and last then return last end
  local i = sent - math.floor(sent / 10)
  last = mine[((i - 1) % #mine) + 1]
  return last
end

function response(status, headers, body)
  if status == 202 then queued = queued + 1
  elseif status == 200 and body:find('"duplicate"', 1, true) then duplicate = duplicate + 1
  else other = other + 1 end
  -- read back in done() (each thread has its own Lua state)
  wrk.thread:set("queued", queued)
  wrk.thread:set("duplicate", duplicate)
  wrk.thread:set("other", other)
end

function done(summary, latency, requests)
  local q, d, o = 0, 0, 0
  for _, t in ipairs(threads) do
    q = q + (t:get("queued") or 0)
    d = d + (t:get("duplicate") or 0)
    o = o + (t:get("other") or 0)
  end
  io.write(string.format("WEBHOOKS queued=%d duplicate=%d other=%d\n", q, d, o))
end
