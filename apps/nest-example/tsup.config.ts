import { defineConfig } from 'tsup';
import { appBuild } from '../../tsup.package.js';

export default defineConfig(appBuild());
