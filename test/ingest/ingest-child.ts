/** Child process for the crash test: ingest `root` into `lib` with the model at `modelDir`. */
import { loadModel } from '../../src/model/weights.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';

const [libDir, modelDir, root] = process.argv.slice(2) as [string, string, string];
const { model, modelId } = loadModel(modelDir);
const lib = Library.open(libDir, {
  embedder: await TfjsEmbedder.create(model, modelId),
  log: () => {},
});
const s = await lib.ingest([root], { batch: 4, concurrency: 2 });
lib.close();
console.log(JSON.stringify({ added: s.added, embedded: s.embedded, failed: s.failed }));
