// The TypeScript SDK's main resources against a running Parley server, under Node.
// Run by tests/live/test_typescript_sdk.py with PARLEY_BASE_URL, PARLEY_API_KEY and
// PARLEY_MODEL set; prints one JSON object of what the SDK returned, for Python to check.
import Anthropic, { toFile } from "@anthropic-ai/sdk";

const client = new Anthropic({
  baseURL: process.env.PARLEY_BASE_URL,
  apiKey: process.env.PARLEY_API_KEY,
  maxRetries: 0,
});
const model = process.env.PARLEY_MODEL;
const user = [{ role: "user", content: "Say hello." }];
const weather = {
  name: "get_weather",
  description: "Weather for a city.",
  input_schema: {
    type: "object",
    properties: { city: { type: "string", maxLength: 12 } },
    required: ["city"],
  },
};

// Progress on stderr, so a test that times out shows where.
const step = (name) => console.error(`step: ${name}`);

async function errorName(call) {
  try {
    await call();
    return "no error";
  } catch (error) {
    return error instanceof Anthropic.APIError ? error.constructor.name : String(error);
  }
}

async function tour() {
  const out = {};
  step("create");
  const message = await client.messages.create({ model, max_tokens: 12, messages: user });
  out.create = {
    id: message.id,
    type: message.type,
    text: message.content.filter((b) => b.type === "text").map((b) => b.text).join(""),
    stop_reason: message.stop_reason,
    output_tokens: message.usage.output_tokens,
    request_id: message._request_id,
  };

  step("stream");
  const deltas = [];
  const stream = client.messages.stream({ model, max_tokens: 12, messages: user });
  stream.on("text", (text) => deltas.push(text));
  const final = await stream.finalMessage();
  out.stream = {
    deltas: deltas.join(""),
    final_text: final.content.filter((b) => b.type === "text").map((b) => b.text).join(""),
    stop_reason: final.stop_reason,
    output_tokens: final.usage.output_tokens,
  };

  step("tools");
  const called = await client.messages.create({
    model,
    max_tokens: 200,
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [weather],
    tool_choice: { type: "tool", name: "get_weather" },
  });
  const use = called.content.find((b) => b.type === "tool_use");
  out.tools = { stop_reason: called.stop_reason, name: use?.name, input: use?.input };

  step("count_tokens");
  const counted = await client.messages.countTokens({ model, messages: user });
  out.count_tokens = counted.input_tokens;
  out.create_input_tokens = message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0);

  step("models");
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  const one = await client.models.retrieve(model);
  out.models = { listed: models, retrieved: one.id };

  step("batches");
  const batch = await client.messages.batches.create({
    requests: [
      { custom_id: "first", params: { model, max_tokens: 8, messages: user } },
      { custom_id: "second", params: { model, max_tokens: 8, messages: user } },
    ],
  });
  let status = batch;
  const deadline = Date.now() + 120_000;
  while (status.processing_status !== "ended" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    status = await client.messages.batches.retrieve(batch.id);
  }
  const results = [];
  if (status.processing_status === "ended") {
    for await (const r of await client.messages.batches.results(batch.id)) {
      results.push({ custom_id: r.custom_id, type: r.result.type });
    }
  }
  out.batches = { status: status.processing_status, counts: status.request_counts, results };

  step("files");
  const uploaded = await client.files.upload({
    file: await toFile(Buffer.from("hello from node"), "note.txt", { type: "text/plain" }),
  });
  const listed = [];
  for await (const f of client.files.list()) listed.push(f.id);
  const meta = await client.files.retrieveMetadata(uploaded.id);
  const deleted = await client.files.delete(uploaded.id);
  out.files = {
    filename: meta.filename,
    size_bytes: meta.size_bytes,
    listed: listed.includes(uploaded.id),
    deleted: deleted.type,
  };

  step("errors");
  const stranger = new Anthropic({
    baseURL: process.env.PARLEY_BASE_URL,
    apiKey: "sk-parley-api01-wrong" + "0".repeat(47),
    maxRetries: 0,
  });
  out.errors = {
    bad_key: await errorName(() => stranger.models.list()),
    unknown_model: await errorName(() =>
      client.messages.create({ model: "no-such-model", max_tokens: 5, messages: user })),
    malformed: await errorName(() =>
      client.messages.create({ model, max_tokens: -1, messages: user })),
  };
  return out;
}

tour().then(
  (out) => console.log(JSON.stringify(out)),
  (error) => {
    console.log(JSON.stringify({ error: String(error), stack: error?.stack }));
    process.exit(1);
  },
);
