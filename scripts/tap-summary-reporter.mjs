// tap reporter: passes the TAP stream through and ends with one plain line,
// "N passed, N failed[, N skipped]", that any CI can read. Above it, when a
// test file skipped itself as a whole (`t.plan(0, why)`: the browser test
// without Chromium, say), a line names each such file and its reason, so a
// suite that ran less than it has does not hide behind "0 failed".
import { Transform } from 'node:stream';
import { Parser } from 'tap-parser';

export default class SummaryReporter extends Transform {
  #parser = new Parser();
  #counts = { pass: 0, fail: 0, skip: 0 };
  /** The files (the root's subtests) that skipped themselves, with their reasons. */
  #skippedFiles = [];

  constructor() {
    super();
    const walk = (parser, parentBox, depth) => {
      let child = null;
      let myFails = 0;
      parser.on('child', (sub) => {
        const box = { fails: 0 };
        child = { box };
        walk(sub, box, depth + 1);
      });
      parser.on('assert', (result) => {
        const closing = child;
        child = null;
        if (closing) {
          // A subtest's closing point: count only failures no leaf explains.
          if (!result.ok && !result.todo && closing.box.fails === 0) {
            this.#counts.fail++;
            myFails++;
          } else if (result.ok && result.skip) {
            // A subtest that skipped itself (`t.plan(0, why)`): nothing inside it ran.
            this.#counts.skip++;
            if (depth === 0) this.#skippedFiles.push({ name: result.name, why: typeof result.skip === 'string' ? result.skip : '' });
          }
          myFails += closing.box.fails;
        } else if (result.skip || result.todo) this.#counts.skip++;
        else if (result.ok) this.#counts.pass++;
        else {
          this.#counts.fail++;
          myFails++;
        }
        if (parentBox) parentBox.fails = myFails;
      });
      parser.on('bailout', () => {
        if (this.#counts.fail === 0) this.#counts.fail = 1;
      });
    };
    walk(this.#parser, null, 0);
  }

  _transform(chunk, _encoding, done) {
    this.#parser.write(chunk);
    done(null, chunk);
  }

  _flush(done) {
    this.#parser.end();
    const { pass, fail, skip } = this.#counts;
    const lines = [];
    const files = this.#skippedFiles;
    if (files.length > 0) {
      const named = files.map(({ name, why }) => (why ? `${name} (${why})` : name));
      lines.push(`${files.length} ${files.length === 1 ? 'file skipped itself' : 'files skipped themselves'}: ${named.join(', ')}`);
    }
    lines.push(`${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}`);
    done(null, `\n${lines.join('\n')}\n`);
  }
}
