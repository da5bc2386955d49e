// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/data-dir-lock.test.js';
import './units/redis-url.test.js';
