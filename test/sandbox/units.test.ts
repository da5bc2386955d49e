// This folder's pure unit tests (units/) in one process, as starting a process for each costs more than running it.
import './units/oauth1-signature.test.js';
import './units/oauth2-authorize.test.js';
import './units/oauth2-store.test.js';
import './units/oauth2-token.test.js';
import './units/store.test.js';
import './units/v2-user.test.js';
