// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/login-params.test.js';
import './units/pkce.test.js';
