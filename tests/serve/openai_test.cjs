// `llm serve` driven by the official `openai` npm package, the way applications reach it:
// completions (whole and streamed), chat (whole and streamed, when the build has chat
// templates), embeddings (the SDK's default base64 and floats), the model list, and errors
// surfacing as the SDK's typed exceptions.
//   node openai_test.cjs NPM_DIR LLM STORIES.gguf BERT.gguf CHAT_TEMPLATE|-
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const [npmDir, llm, stories, bert, chatTemplate] = process.argv.slice(2);
const OpenAI = require(path.join(npmDir, 'node_modules', 'openai'));
const KEY = 'test-key-' + process.pid;

let failed = 0;
function check(what, ok) {
  console.log((ok ? 'ok: ' : 'FAIL: ') + what);
  if (!ok) failed = 1;
}

function startServer(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(llm, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve({ child, port: Number(m[1]), log: () => err });
    });
    child.on('exit', (code) => reject(new Error(`llm serve exited with ${code}:\n${err}`)));
  });
}

function stopServer(srv) {
  return new Promise((resolve) => {
    srv.child.removeAllListeners('exit');
    srv.child.on('exit', (code, sig) => resolve(code === 0 && sig === null));
    srv.child.kill('SIGTERM');
  });
}

async function expectError(what, fn, cls, status, code) {
  try {
    await fn();
    check(what + ' (no error raised)', false);
  } catch (e) {
    check(what, e instanceof cls && e.status === status && (code === undefined || e.code === code));
    if (!(e instanceof cls)) console.log('  got', e);
  }
}

async function decoderTests() {
  const args = ['-m', stories, '--api-key', KEY, '--ctx', '256', '--slots', '2'];
  const haveChat = chatTemplate !== '-';
  if (haveChat) args.push('--chat-template', chatTemplate);
  const srv = await startServer(args);
  const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${srv.port}/v1`, maxRetries: 0 });
  const model = 'stories260K';

  const models = await client.models.list();
  check('models.list() names the model', models.data.length === 1 && models.data[0].id === model);

  const req = { model, prompt: 'Once upon a time', max_tokens: 12, seed: 7, logit_bias: { 2: -100 } };
  const c = await client.completions.create(req);
  check('completions.create(): 12 tokens of text',
    c.object === 'text_completion' && c.choices[0].text.length > 0 &&
    c.usage.completion_tokens === 12 && c.choices[0].finish_reason === 'length');

  const stream = await client.completions.create({ ...req, stream: true });
  let text = '';
  let finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0].text;
    finish = chunk.choices[0].finish_reason || finish;
  }
  check('completions.create({stream: true}) streams the same text', text === c.choices[0].text && finish === 'length');

  const two = await client.completions.create({ ...req, n: 2, seed: 11 });
  check('n: 2 gives two choices', two.choices.length === 2);

  const stopped = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop: ['.'] });
  check('stop: ends before the stop string', stopped.choices[0].finish_reason === 'stop' && !stopped.choices[0].text.includes('.'));

  if (haveChat) {
    const messages = [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'Tell me about Lily.' }];
    const chat = await client.chat.completions.create({ model, messages, max_tokens: 10, seed: 5 });
    check('chat.completions.create(): an assistant message',
      chat.object === 'chat.completion' && chat.choices[0].message.role === 'assistant' &&
      typeof chat.choices[0].message.content === 'string' && chat.usage.prompt_tokens > 10);
    const cs = await client.chat.completions.create({ model, messages, max_tokens: 10, seed: 5, stream: true });
    let content = '';
    let role = null;
    for await (const chunk of cs) {
      const d = chunk.choices[0]?.delta || {};
      role = d.role || role;
      content += d.content || '';
    }
    check('chat.completions.create({stream: true}) streams the same message', role === 'assistant' && content === chat.choices[0].message.content);
    await expectError('chat without messages: BadRequestError',
      () => client.chat.completions.create({ model, messages: [] }), OpenAI.BadRequestError, 400);
  } else {
    console.log('note: this build has no chat templates; chat cases not run');
  }

  await expectError('a wrong key: AuthenticationError 401',
    () => new OpenAI({ apiKey: 'wrong', baseURL: `http://127.0.0.1:${srv.port}/v1`, maxRetries: 0 }).models.list(),
    OpenAI.AuthenticationError, 401, 'invalid_api_key');
  await expectError('an unknown model: NotFoundError 404',
    () => client.completions.create({ model: 'gpt-4', prompt: 'x' }), OpenAI.NotFoundError, 404, 'model_not_found');
  await expectError('temperature 5: BadRequestError 400',
    () => client.completions.create({ model, prompt: 'x', temperature: 5 }), OpenAI.BadRequestError, 400);
  await expectError('embeddings from a decoder: BadRequestError 400',
    () => client.embeddings.create({ model, input: 'x' }), OpenAI.BadRequestError, 400);
  check('SIGTERM: the server exits 0', await stopServer(srv));
}

async function encoderTests() {
  const srv = await startServer(['-m', bert, '--api-key', KEY, '--slots', '1']);
  const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${srv.port}/v1`, maxRetries: 0 });
  const model = 'bert-tiny-mean-f32';
  const input = ['hello world', 'a cat sat on the mat'];
  const b = await client.embeddings.create({ model, input });
  const f = await client.embeddings.create({ model, input, encoding_format: 'float' });
  check('embeddings.create(): two vectors of 64', b.data.length === 2 && b.data[1].embedding.length === 64);
  let same = true;
  for (let i = 0; i < 2; i++)
    for (let k = 0; k < 64; k++)
      if (Math.abs(b.data[i].embedding[k] - f.data[i].embedding[k]) > 1e-6) same = false;
  check('base64 (the SDK default) and float give the same vectors', same);
  check('usage counts the tokens', b.usage.prompt_tokens > 4);
  await expectError('completions from an encoder: BadRequestError 400',
    () => client.completions.create({ model, prompt: 'x' }), OpenAI.BadRequestError, 400);
  check('SIGTERM: the server exits 0', await stopServer(srv));
}

(async () => {
  try {
    await decoderTests();
    await encoderTests();
  } catch (e) {
    console.log('FAIL: ' + (e.stack || e));
    failed = 1;
  }
  process.exit(failed);
})();
