import t from 'tap';
import { isVsChars, readParam } from '../../../src/oidc/request-params.js';

t.test('a value, an absent one, an empty one, a repeated one (RFC 6749 §3.1)', async (t) => {
  const params = { one: 'v', empty: '', list: ['v'], emptyList: [''], noList: [], two: ['a', 'b'], twoEmpty: ['', ''], missing: undefined };
  t.same(readParam(params, 'one'), { kind: 'given', value: 'v' });
  t.same(readParam(params, 'list'), { kind: 'given', value: 'v' });
  for (const name of ['empty', 'emptyList', 'noList', 'missing', 'nothing']) t.same(readParam(params, name), { kind: 'absent' }, name);
  for (const name of ['two', 'twoEmpty']) t.same(readParam(params, name), { kind: 'repeated' }, name);
});

t.test('only own parameters count', async (t) => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) t.same(readParam({}, name), { kind: 'absent' }, name);
  t.same(readParam(JSON.parse('{"__proto__": "x"}') as Record<string, string>, '__proto__'), { kind: 'given', value: 'x' });
});

t.test('VSCHAR within a limit', async (t) => {
  for (const ok of ['a', ' ', '~', ' !"#$%&', "'()*+", ',-./09:;', '<=>?@AZ[', '\\]^_`az{', '|}~', 'x'.repeat(8)]) t.ok(isVsChars(ok, 8), JSON.stringify(ok));
  for (const bad of ['', 'x'.repeat(9), 'a\tb', 'a\nb', '\u007f', 'é', '\u0000']) t.notOk(isVsChars(bad, 8), JSON.stringify(bad));
});
