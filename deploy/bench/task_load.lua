-- wrk script for the task throughput (deploy/bench/tasks.py): each request submits a task with
-- ?wait, to the paths given after `--` in turn (agent submits: one path per agent; pool
-- submits: the pool's path); counts the answers that are not a 200 with the task succeeded.
-- Arguments: API key, then the paths.
local threads = {}
local key, paths, counter = nil, {}, 0
bad = 0  -- a global: done() reads it from each thread with thread:get

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    key = args[1]
    for index = 2, #args do
        paths[#paths + 1] = args[index]
    end
    counter = math.random(0, 1000)  -- threads start at different agents
end

function request()
    counter = counter + 1
    local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
    return wrk.format("POST", paths[(counter % #paths) + 1], headers, '{"input":{"i":' .. counter .. '}}')
end

function response(status, headers, body)
    if status ~= 200 or not string.find(body, '"status"%s*:%s*"succeeded"') then
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("bad")
    end
    io.write(string.format("NOT_OK %d\n", total))
end
