-- POST /v1/events with unique ~400-byte events; EVENTS_PER_REQUEST (env) per request.
local per_request = tonumber(os.getenv("EVENTS_PER_REQUEST") or "1")
local key = os.getenv("WRITE_KEY") or ""
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

local stages = {
  {80, {"page_view", "product_view", "search", "email_open", "compare"}},
  {10, {"ad_impression", "ad_click", "social_impression"}},
  {6, {"add_to_cart", "checkout_started", "purchase"}},
  {3, {"support_ticket_opened", "chat_started"}},
  {1, {"review_posted", "loyalty_joined"}},
}

local function pick_type(n)
  local roll = n % 100
  for _, stage in ipairs(stages) do
    if roll < stage[1] then
      local types = stage[2]
      return types[(n % #types) + 1]
    end
    roll = roll - stage[1]
  end
  return "page_view"
end

local function event()
  counter = counter + 1
  local n = counter * 7919
  local customer = n % 100000
  return string.format(
    '{"event_id":"w%d-%d","customer_id":"customer-%07d","type":"%s","channel":"web",' ..
    '"product_id":"product-%d","properties":{"page":"https://shop.example.com/catalogue/item-%d",' ..
    '"referrer":"https://www.search.example/?q=trail+running+shoes",' ..
    '"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0",' ..
    '"session":"s-%d"}}',
    thread_id, counter, customer, pick_type(n), (n % 3) + 1, n % 5000, customer)
end

function request()
  local body
  if per_request == 1 then
    body = event()
  else
    local events = {}
    for i = 1, per_request do events[i] = event() end
    body = '{"batch":[' .. table.concat(events, ",") .. ']}'
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, body)
end
