// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/hook-answer.test.js';
import './units/retry-policy.test.js';
import './units/standard-webhooks.test.js';
