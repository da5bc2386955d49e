// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/admin-keys.test.js';
import './units/session-view.test.js';
import './units/user-search.test.js';
