import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, highlightLua } from '../../src/admin/dashboard/lua-highlight.js';

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
const spans = (html: string, cls: string) =>
  [...html.matchAll(new RegExp(`<span class="lua-${cls}">([^<]*)</span>`, 'g'))].map((m) => m[1]);

test('keywords, numbers, strings, comments and built-ins get their classes', () => {
  const html = highlightLua('local x = 0x1F + 2.5e3 -- note\nif x > 1 then log("hi") end');
  assert.deepEqual(spans(html, 'keyword'), ['local', 'if', 'then', 'end']);
  assert.deepEqual(spans(html, 'number'), ['0x1F', '2.5e3', '1']);
  assert.deepEqual(spans(html, 'comment'), ['-- note']);
  assert.deepEqual(spans(html, 'string'), ['&quot;hi&quot;']);
  assert.deepEqual(spans(html, 'builtin'), ['log']);
});

test('long strings and long comments span lines (Lua 5.4 §3.1 long brackets)', () => {
  const src = 'a = [==[ x ]] "y" ]==]\n--[[ local\nend ]] return a';
  const html = highlightLua(src);
  assert.deepEqual(spans(html, 'string'), ['[==[ x ]] &quot;y&quot; ]==]']);
  assert.deepEqual(spans(html, 'comment'), ['--[[ local\nend ]]']);
  assert.deepEqual(spans(html, 'keyword'), ['return']);
});

test('escaped quotes stay inside the string; a field named like a keyword-free builtin is not one', () => {
  const html = highlightLua(`s = 'it\\'s' .. ctx.math`);
  assert.deepEqual(spans(html, 'string'), [`'it\\'s'`]);
  assert.deepEqual(spans(html, 'builtin'), []);
});

test('the text is unchanged and HTML in the source is escaped (no injection into the page)', () => {
  const src = 'local s = "<img src=x onerror=alert(1)>" -- </pre><script>\nreturn 1 < 2 and 3 > 2';
  const html = highlightLua(src);
  assert.equal(text(html), src);
  assert.ok(!/<(img|script|\/pre)/.test(html));
  assert.equal(escapeHtml('<a href="x">&</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
});

test('unterminated strings and comments end at the line or the text', () => {
  const src = 'x = "open\ny = [[ never closed';
  assert.equal(text(highlightLua(src)), src);
});
