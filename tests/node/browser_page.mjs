// The page's script (bundled for the browser by esbuild in tests/browser/): the
// TypeScript SDK in direct-browser mode against Parley on another origin. The API's
// base URL and key come in the page's query string; the outcome goes to window.result.
import Anthropic from "@anthropic-ai/sdk";

const query = new URLSearchParams(location.search);
const base = query.get("base");
const client = new Anthropic({
  baseURL: base,
  apiKey: query.get("key"),
  dangerouslyAllowBrowser: true,
  maxRetries: 0,
});
const model = query.get("model");
const user = [{ role: "user", content: "one two three" }];

async function run() {
  const out = {};
  const { data, response } = await client.messages
    .create({ model, max_tokens: 10, messages: user })
    .withResponse();
  out.text = data.content.map((b) => b.text).join("");
  out.request_id = response.headers.get("request-id");
  out.remaining = response.headers.get("anthropic-ratelimit-requests-remaining");

  const stream = client.messages.stream({ model, max_tokens: 10, messages: user });
  out.streamed = await stream.finalText();
  out.counted = (await client.messages.countTokens({ model, messages: user })).input_tokens;
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  out.models = models;

  // The same request without the direct-access header, as plain fetch sends it.
  const refused = await fetch(`${base}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": query.get("key"),
               "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model, max_tokens: 5, messages: user }),
  });
  out.refused = { status: refused.status, message: (await refused.json()).error.message };
  return out;
}

run().then(
  (out) => { window.result = out; },
  (error) => { window.result = { error: `${error.name}: ${error.message}` }; },
);
