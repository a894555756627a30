// Loaded with `node --import` by tracingTest: every module the program resolves through
// `import` (static or dynamic) is appended, as a URL, to the file RECORD_MODULES_FILE names.
import { register } from 'node:module';

register('./recordModulesHooks.mjs', import.meta.url);
