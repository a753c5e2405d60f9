// parseForm reads the bodies of Keygate's own form routes (introspection). It used to be
// querystring.parse; the oracle here is that parser, so no body reads differently than before.
import { parse as parseQuery } from 'node:querystring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FORM_PARAMETERS, parseForm } from '../../src/http/body.ts';

/** What querystring made of `text`, or 'repeated' when a name came twice. */
function asQuerystringRead(text: string): Array<[string, string]> | 'repeated' {
  const params = parseQuery(text, '&', '=', { maxKeys: 0 });
  const entries = Object.entries(params);
  return entries.some(([, value]) => typeof value !== 'string') ? 'repeated' : (entries as Array<[string, string]>);
}

function asParsed(text: string): Array<[string, string]> | 'repeated' {
  const parsed = parseForm(text);
  if (!parsed.ok) return parsed.message.includes('multiple times') ? 'repeated' : [];
  return Object.entries(parsed.params);
}

const TRICKY = [
  'token=abc',
  'a=1&b=2',
  '+%20+=x+y',
  'a=%zz&b=%',
  'a=%2&b=%FF&c=%C3%28&d=%E2%82%AC',
  'a',
  '=x',
  '&&a=1&&',
  'a=b=c',
  'ü=ö&%C3%BC2=x',
  'a=1;b=2',
  'hasOwnProperty=1&constructor=2&toString=3',
  '__proto__=x',
  'a=1&a=2',
  'a=1&A=2&a=3',
];

describe('parseForm', () => {
  it.each(TRICKY)('reads %s as querystring did', (text) => {
    expect(asParsed(text)).toEqual(asQuerystringRead(text));
  });

  // ASCII only: see the next test for the one way the two differ.
  it('reads any ASCII body of form characters as querystring did', () => {
    const piece = fc.constantFrom('a', 'b', 'token', '=', '&', '+', '%', '%2', '%20', '%3D', '%26', '%C3', '%BC', '%FF', '__proto__', ';');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('');
        expect(asParsed(text)).toEqual(asQuerystringRead(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a character beside a stray % as sent, where querystring replaced it with U+FFFD', () => {
    // querystring's fallback for a value decodeURIComponent rejects (here after turning + into a
    // space) read each character as one byte, so a non-ASCII one became invalid UTF-8.
    // URLSearchParams decodes what it can and keeps the rest.
    expect(asQuerystringRead('a=%2+bé')).toEqual([['a', '%2 b\uFFFD']]);
    expect(asParsed('a=%2+bé')).toEqual([['a', '%2 bé']]);
  });

  it('refuses a repeated parameter, naming it', () => {
    expect(parseForm('token=a&token=b')).toEqual({ ok: false, message: "'token' parameter must not be provided multiple times" });
  });

  it('keeps __proto__ an own parameter: the prototype is never set, and a second one is refused', () => {
    const parsed = parseForm('__proto__=x&token=t');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(Object.getPrototypeOf(parsed.params)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed.params, '__proto__')).toBe(true);
    expect(parsed.params.token).toBe('t');
    expect(parseForm('__proto__=x&__proto__=y').ok).toBe(false);
  });

  it('leaves a name the body did not send undefined, even one Object.prototype has', () => {
    const parsed = parseForm('token=t');
    expect(parsed.ok && parsed.params.client_id).toBeUndefined();
    expect(parsed.ok && Object.hasOwn(parsed.params, 'toString')).toBe(false);
  });

  it(`refuses more than ${MAX_FORM_PARAMETERS} parameters`, () => {
    const text = Array.from({ length: MAX_FORM_PARAMETERS + 1 }, (_, i) => `p${i}=1`).join('&');
    expect(parseForm(text).ok).toBe(false);
    expect(parseForm(text.slice(0, text.lastIndexOf('&'))).ok).toBe(true);
  });
});
