// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/cursor.test.js';
import './units/detail.test.js';
