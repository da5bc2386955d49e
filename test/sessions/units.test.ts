// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/policy.test.js';
import './units/token-params.test.js';
