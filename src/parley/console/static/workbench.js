// The Workbench: builds a Messages request from the form, streams it from the real
// /v1/messages (same origin, signed in by the session cookie plus its CSRF header: no
// key in the page), counts its tokens live with /v1/messages/count_tokens, shows it as
// code, and saves it to the workspace.
"use strict";

const $ = (id) => document.getElementById(id);
const setup = JSON.parse($("workbench-setup").textContent);
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
let turns = [{ role: "user", text: "" }];
let running = null;

function apiHeaders() {
  const headers = { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-csrf-token": csrf() };
  if (setup.sendWorkspace) headers["anthropic-workspace-id"] = setup.workspace;
  return headers;
}

// --- the conversation -----------------------------------------------------------------

function renderTurns() {
  const list = $("wb-messages");
  list.replaceChildren();
  turns.forEach((turn, i) => {
    const box = document.createElement("div");
    box.className = `turn turn-${turn.role}`;
    const head = document.createElement("div");
    head.className = "turn-head";
    const role = document.createElement("select");
    role.setAttribute("aria-label", `Message ${i + 1} role`);
    ["user", "assistant"].forEach((r) => role.add(new Option(r, r, false, r === turn.role)));
    role.addEventListener("change", () => { turn.role = role.value; renderTurns(); changed(); });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "Remove";
    remove.disabled = turns.length === 1;
    remove.addEventListener("click", () => { turns.splice(i, 1); renderTurns(); changed(); });
    head.append(role, remove);
    const text = document.createElement("textarea");
    text.rows = 3;
    text.value = turn.text;
    text.dataset.turn = String(i);
    text.placeholder = turn.role === "user" ? "User message" : "Assistant message (a prefill when last)";
    text.addEventListener("input", () => { turn.text = text.value; changed(); });
    box.append(head, text);
    list.append(box);
  });
}

function addTurn(role) {
  turns.push({ role, text: "" });
  renderTurns();
  document.querySelector(`#wb-messages textarea[data-turn="${turns.length - 1}"]`).focus();
}

// --- the request ------------------------------------------------------------------------

function parsedTools() {
  const raw = $("wb-tools").value.trim();
  if (!raw) return null;
  let tools;
  try { tools = JSON.parse(raw); } catch (e) { throw new Error(`Tools are not valid JSON: ${e.message}`); }
  if (!Array.isArray(tools)) throw new Error("Tools must be a JSON array.");
  tools.forEach((tool, i) => {
    if (typeof tool !== "object" || tool === null) throw new Error(`tools.${i}: must be an object`);
    if (!tool.type && (typeof tool.name !== "string" || !tool.name)) throw new Error(`tools.${i}.name: required`);
    if (!tool.type && (typeof tool.input_schema !== "object" || tool.input_schema === null)) {
      throw new Error(`tools.${i}.input_schema: required (a JSON Schema object)`);
    }
  });
  return tools;
}

function buildRequest() {
  const body = { model: $("wb-model").value, max_tokens: Number($("wb-max-tokens").value) || 1 };
  const system = $("wb-system").value;
  if (system.trim()) body.system = system;
  body.messages = turns.map((t) => ({ role: t.role, content: t.text }));
  const temperature = $("wb-temperature").value;
  if (temperature !== "") body.temperature = Number(temperature);
  const stops = $("wb-stop").value.split("\n").filter((s) => s !== "");
  if (stops.length) body.stop_sequences = stops;
  const tools = parsedTools();
  if (tools) {
    body.tools = tools;
    const choice = $("wb-tool-choice").value;
    if (choice === "tool") body.tool_choice = { type: "tool", name: $("wb-tool-name").value };
    else if (choice) body.tool_choice = { type: choice };
  }
  return body;
}

function checkedRequest() {
  $("wb-tools-error").textContent = "";
  try { return buildRequest(); } catch (e) { $("wb-tools-error").textContent = e.message; return null; }
}

// --- running it -------------------------------------------------------------------------

function setStat(id, value) { $(id).textContent = value === undefined || value === null ? "—" : String(value); }

function resetOutput(body) {
  const out = $("wb-output");
  out.replaceChildren();
  out.dataset.done = "";
  const last = body.messages[body.messages.length - 1];
  if (last && last.role === "assistant" && last.content) {
    const prefill = document.createElement("span");
    prefill.className = "prefill";
    prefill.textContent = last.content;
    out.append(prefill);
  }
  $("wb-error").hidden = true;
  ["stat-stop", "stat-input", "stat-output", "stat-cache", "stat-ttft", "stat-request"].forEach((id) => setStat(id, null));
}

function showError(message) {
  $("wb-error").textContent = message;
  $("wb-error").hidden = false;
}

function onEvent(name, data, state) {
  const out = $("wb-output");
  if (name === "message_start") {
    const u = data.message.usage;
    setStat("stat-input", u.input_tokens);
    setStat("stat-cache", u.cache_read_input_tokens || 0);
  } else if (name === "content_block_start") {
    const block = document.createElement(data.content_block.type === "text" ? "span" : "div");
    block.className = data.content_block.type === "text" ? "generated" : "tool-call";
    if (data.content_block.type === "tool_use") block.dataset.name = data.content_block.name;
    state.blocks[data.index] = block;
    out.append(block);
  } else if (name === "content_block_delta") {
    if (state.firstToken === null) {
      state.firstToken = performance.now();
      setStat("stat-ttft", `${Math.round(state.firstToken - state.started)} ms`);
    }
    const block = state.blocks[data.index];
    if (data.delta.type === "text_delta") block.textContent += data.delta.text;
    else if (data.delta.type === "input_json_delta") block.textContent += data.delta.partial_json;
  } else if (name === "message_delta") {
    setStat("stat-stop", data.delta.stop_reason);
    setStat("stat-output", data.usage.output_tokens);
  } else if (name === "message_stop") {
    out.dataset.done = "1";
  } else if (name === "error") {
    showError(data.error.message);
    out.dataset.done = "error";
  }
}

async function readEvents(response, state) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      chunk.split("\n").forEach((line) => {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      });
      if (data.length) onEvent(name, JSON.parse(data.join("\n")), state);
    }
  }
}

async function run() {
  const body = checkedRequest();
  if (!body) return;
  resetOutput(body);
  const controller = new AbortController();
  running = controller;
  $("run").disabled = true;
  $("stop").hidden = false;
  const state = { started: performance.now(), firstToken: null, blocks: {} };
  try {
    const response = await fetch("/v1/messages", {
      method: "POST",
      headers: apiHeaders(),
      body: JSON.stringify({ ...body, stream: true }),
      credentials: "same-origin",
      signal: controller.signal,
    });
    setStat("stat-request", response.headers.get("request-id"));
    if (!response.ok) {
      const failed = await response.json().catch(() => null);
      showError(failed && failed.error ? failed.error.message : `HTTP ${response.status}`);
      $("wb-output").dataset.done = "error";
      return;
    }
    await readEvents(response, state);
  } catch (e) {
    if (e.name !== "AbortError") showError(`The stream broke: ${e.message}`);
    $("wb-output").dataset.done = "error";
  } finally {
    running = null;
    $("run").disabled = false;
    $("stop").hidden = true;
  }
}

// --- live token count ---------------------------------------------------------------------

let countTimer = null;

async function countTokens() {
  const body = checkedRequest();
  if (!body) return;
  const label = $("token-count");
  if (body.messages.some((m) => !m.content.trim())) {
    label.textContent = "Write the messages to count their tokens.";
    label.dataset.tokens = "";
    return;
  }
  const counted = { model: body.model, messages: body.messages };
  ["system", "tools", "tool_choice"].forEach((k) => { if (body[k] !== undefined) counted[k] = body[k]; });
  try {
    const response = await fetch("/v1/messages/count_tokens", {
      method: "POST", headers: apiHeaders(), body: JSON.stringify(counted), credentials: "same-origin",
    });
    const found = await response.json();
    if (response.ok) {
      label.textContent = `${found.input_tokens.toLocaleString()} prompt tokens`;
      label.dataset.tokens = String(found.input_tokens);
    } else {
      label.textContent = found.error ? found.error.message : `HTTP ${response.status}`;
      label.dataset.tokens = "";
    }
  } catch (e) {
    label.textContent = "";
  }
}

function changed() {
  clearTimeout(countTimer);
  countTimer = setTimeout(countTokens, 400);
}

// --- get code -------------------------------------------------------------------------------

function pythonLiteral(value, indent) {
  const pad = "    ".repeat(indent + 1);
  const end = "    ".repeat(indent);
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return "[\n" + value.map((v) => pad + pythonLiteral(v, indent + 1)).join(",\n") + ",\n" + end + "]";
  }
  const keys = Object.keys(value);
  if (!keys.length) return "{}";
  return "{\n" + keys.map((k) => `${pad}${JSON.stringify(k)}: ${pythonLiteral(value[k], indent + 1)}`).join(",\n") + ",\n" + end + "}";
}

// The Workbench speaks anthropic-version 2023-06-01, the version that still takes
// temperature and the other sampling fields; SDK 2.x sends 2026-10-21 unless told, and
// its Python methods take those fields only through extra_body.
const SAMPLING = ["temperature", "top_p", "top_k"];
const VERSION_NOTE = "The Workbench sends anthropic-version 2023-06-01 (the version that takes temperature).";

function pythonCode(base, body) {
  const sampling = Object.fromEntries(Object.entries(body).filter(([k]) => SAMPLING.includes(k)));
  const args = Object.keys(body).filter((k) => !SAMPLING.includes(k)).map((k) => `    ${k}=${pythonLiteral(body[k], 1)},`);
  if (Object.keys(sampling).length) args.push(`    extra_body=${pythonLiteral(sampling, 1)},`);
  return [
    "import os", "", "import anthropic", "", `# ${VERSION_NOTE}`,
    "client = anthropic.Anthropic(",
    `    base_url=${JSON.stringify(base)},`,
    '    api_key=os.environ["ANTHROPIC_API_KEY"],',
    '    default_headers={"anthropic-version": "2023-06-01"},',
    ")", "",
    "with client.messages.stream(", ...args, ") as stream:",
    "    for text in stream.text_stream:", '        print(text, end="", flush=True)',
    "    message = stream.get_final_message()", "print()", "print(message.stop_reason, message.usage.model_dump_json())",
  ].join("\n");
}

function typescriptCode(base, body) {
  return [
    'import Anthropic from "@anthropic-ai/sdk";', "", `// ${VERSION_NOTE}`,
    "const client = new Anthropic({",
    `  baseURL: ${JSON.stringify(base)},`,
    "  apiKey: process.env.ANTHROPIC_API_KEY,",
    '  defaultHeaders: { "anthropic-version": "2023-06-01" },',
    "});", "",
    `const params = ${JSON.stringify(body, null, 2)};`,
    "const stream = client.messages.stream(params);",
    'stream.on("text", (text) => process.stdout.write(text));',
    "const message = await stream.finalMessage();", "console.log();",
    "console.log(message.stop_reason, JSON.stringify(message.usage));",
  ].join("\n");
}

function codeFor(body) {
  const base = window.location.origin;
  const json = JSON.stringify({ ...body, stream: true }, null, 2);
  const curl = [
    `curl -N ${base}/v1/messages \\`,
    '  -H "x-api-key: $ANTHROPIC_API_KEY" \\',
    '  -H "anthropic-version: 2023-06-01" \\',
    '  -H "content-type: application/json" \\',
    `  -d '${json.replace(/'/g, "'\\''")}'`,
  ].join("\n");
  return { curl, python: pythonCode(base, body), typescript: typescriptCode(base, body), json };
}

function showCode() {
  const body = checkedRequest();
  if (!body) return;
  const code = codeFor(body);
  Object.entries(code).forEach(([tab, text]) => { $(`code-${tab}`).textContent = text; });
  $("code-dialog").showModal();
}

function showTab(tab) {
  document.querySelectorAll("#code-tabs a").forEach((a) => a.classList.toggle("active", a.dataset.tab === tab));
  ["curl", "python", "typescript", "json"].forEach((t) => { $(`code-${t}`).hidden = t !== tab; });
}

// --- saved prompts --------------------------------------------------------------------------

async function savePrompt() {
  const body = checkedRequest();
  const status = $("save-status");
  if (!body) return;
  const name = $("prompt-name").value.trim();
  if (!name) { status.textContent = "Name the prompt first."; $("prompt-name").focus(); return; }
  const opened = setup.opened && setup.opened.name === name ? setup.opened.id : null;
  const path = setup.sendWorkspace ? `/console/workbench/prompts?workspace=${encodeURIComponent(setup.workspace)}` : "/console/workbench/prompts";
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf() },
    body: JSON.stringify({ name, request: body, id: opened }),
    credentials: "same-origin",
  });
  const found = await response.json();
  if (!response.ok) { status.textContent = found.error.message; return; }
  const base = $("prompt-picker").dataset.base;
  window.location.assign(`${base}${base.includes("?") ? "&" : "?"}prompt=${encodeURIComponent(found.id)}`);
}

function openPrompt(request) {
  $("wb-model").value = request.model;
  $("wb-max-tokens").value = request.max_tokens;
  $("wb-temperature").value = request.temperature ?? "";
  const system = request.system;
  $("wb-system").value = typeof system === "string" ? system : (system || []).map((b) => b.text || "").join("\n");
  turns = request.messages.map((m) => ({
    role: m.role,
    text: typeof m.content === "string" ? m.content : m.content.filter((b) => b.type === "text").map((b) => b.text).join("\n"),
  }));
  $("wb-stop").value = (request.stop_sequences || []).join("\n");
  $("wb-tools").value = request.tools ? JSON.stringify(request.tools, null, 2) : "";
  const choice = request.tool_choice;
  $("wb-tool-choice").value = choice && choice.type !== "auto" ? choice.type : "";
  $("wb-tool-name").value = choice && choice.name ? choice.name : "";
}

// --- wiring ---------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  setup.models.forEach((m) => $("wb-model").add(new Option(m.id, m.id)));
  if (setup.opened) openPrompt(setup.opened.request);
  renderTurns();
  $("add-user").addEventListener("click", () => addTurn("user"));
  $("add-assistant").addEventListener("click", () => addTurn("assistant"));
  $("run").addEventListener("click", run);
  $("stop").addEventListener("click", () => { if (running) running.abort(); });
  $("get-code").addEventListener("click", showCode);
  $("close-code").addEventListener("click", () => $("code-dialog").close());
  document.querySelectorAll("#code-tabs a").forEach((a) => a.addEventListener("click", (e) => { e.preventDefault(); showTab(a.dataset.tab); }));
  $("save-prompt").addEventListener("click", savePrompt);
  $("prompt-picker").addEventListener("change", (e) => {
    const base = e.target.dataset.base;
    window.location.assign(e.target.value ? `${base}${base.includes("?") ? "&" : "?"}prompt=${encodeURIComponent(e.target.value)}` : base);
  });
  ["wb-model", "wb-system", "wb-tools", "wb-tool-choice", "wb-tool-name"].forEach((id) => $(id).addEventListener("input", changed));
  $("wb-tools").addEventListener("input", checkedRequest);
  countTokens();
});
