// tap reporter: passes the TAP stream through and ends with one plain line,
// "N passed, N failed[, N skipped]", that any CI can read.
import { Transform } from 'node:stream';
import { Parser } from 'tap-parser';

export default class SummaryReporter extends Transform {
  #parser = new Parser();
  #counts = { pass: 0, fail: 0, skip: 0 };

  constructor() {
    super();
    const walk = (parser, parentBox) => {
      let child = null;
      let myFails = 0;
      parser.on('child', (sub) => {
        const box = { fails: 0 };
        child = { box };
        walk(sub, box);
      });
      parser.on('assert', (result) => {
        const closing = child;
        child = null;
        if (closing) {
          // A subtest's closing point: count only failures no leaf explains.
          if (!result.ok && !result.todo && closing.box.fails === 0) {
            this.#counts.fail++;
            myFails++;
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
    walk(this.#parser, null);
  }

  _transform(chunk, _encoding, done) {
    this.#parser.write(chunk);
    done(null, chunk);
  }

  _flush(done) {
    this.#parser.end();
    const { pass, fail, skip } = this.#counts;
    done(null, `\n${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}\n`);
  }
}
