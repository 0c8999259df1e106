/** Imported first by src/index.ts: on a Node older than MIN_NODE the import fails here, before anything else loads. */
import { requireNode } from './node-version.ts';

requireNode();
