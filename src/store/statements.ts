/**
 * The Store's SQL, prepared once per connection (store.ts): every statement the library runs,
 * with its column aliases, in one place.
 */
import type Database from 'better-sqlite3';

const IMAGE_COLS = `id, hash, size, width, height, format, added_at AS addedAt, status, error`;
const DEAD_COLS = `path, root, hash, job_id AS jobId, error, attempts, at`;
const FAILURE_COLS = `path, size, mtime_ms AS mtimeMs, error, limit_kind AS limitKind,
  limit_value AS limitValue`;
const JOB_COLS = `id, kind, state, total, done, errors, message, started_at AS startedAt,
  updated_at AS updatedAt, finished_at AS finishedAt`;

/** Every statement the Store runs, by name. */
export const SQL = {
  getMeta: 'SELECT value FROM meta WHERE key = ?',
  setMeta:
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  getImage: `SELECT ${IMAGE_COLS} FROM images WHERE id = ?`,
  findImageByHash: `SELECT ${IMAGE_COLS} FROM images WHERE hash = ?`,
  insertImage:
    'INSERT INTO images (hash, size, width, height, format, added_at, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  setImageStatus: 'UPDATE images SET status = ?, error = ? WHERE id = ?',
  deleteImage: 'DELETE FROM images WHERE id = ?',
  listImages: `SELECT ${IMAGE_COLS} FROM images WHERE id > ? ORDER BY id LIMIT ?`,
  countImages: 'SELECT COUNT(*) AS n FROM images',
  countImagesByStatus: 'SELECT COUNT(*) AS n FROM images WHERE status = ?',
  findPath:
    'SELECT path, image_id AS imageId, root, size, mtime_ms AS mtimeMs FROM paths WHERE path = ?',
  putPath: `INSERT INTO paths (path, image_id, root, size, mtime_ms, seen_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET image_id = excluded.image_id, root = excluded.root,
         size = excluded.size, mtime_ms = excluded.mtime_ms, seen_at = excluded.seen_at`,
  pathsOf: 'SELECT path FROM paths WHERE image_id = ? ORDER BY path',
  pathsOfMany:
    'SELECT image_id AS imageId, path FROM paths WHERE image_id IN (SELECT value FROM json_each(?)) ORDER BY image_id, path',
  pathsUnder:
    'SELECT path, image_id AS imageId, root, size, mtime_ms AS mtimeMs FROM paths WHERE root = ?',
  // The distinct roots by skipping through the root index, one lookup per root: DISTINCT would
  // read every path (tens of ms at a million), and the server asks on every request.
  roots: `WITH RECURSIVE r(root) AS (
      SELECT MIN(root) FROM paths
      UNION ALL
      SELECT (SELECT MIN(root) FROM paths WHERE root > r.root) FROM r WHERE r.root IS NOT NULL
    ) SELECT root FROM r WHERE root IS NOT NULL`,
  pathsLike:
    "SELECT path, image_id AS imageId, root, size, mtime_ms AS mtimeMs FROM paths WHERE path LIKE ? ESCAPE '\\'",
  movePath: 'UPDATE paths SET path = ?, root = ? WHERE path = ?',
  removePath: 'DELETE FROM paths WHERE path = ?',
  countPaths: 'SELECT COUNT(*) AS n FROM paths WHERE image_id = ?',
  findFailure: `SELECT ${FAILURE_COLS} FROM failures WHERE path = ?`,
  putFailure: `INSERT INTO failures (path, root, size, mtime_ms, error, at, limit_kind, limit_value)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET root = excluded.root, size = excluded.size,
         mtime_ms = excluded.mtime_ms, error = excluded.error, at = excluded.at,
         limit_kind = excluded.limit_kind, limit_value = excluded.limit_value`,
  clearFailure: 'DELETE FROM failures WHERE path = ?',
  failuresUnder: `SELECT ${FAILURE_COLS} FROM failures WHERE root = ?`,
  countFailures: 'SELECT COUNT(*) AS n FROM failures',
  putDeadLetter: `INSERT INTO dead_letters (path, root, hash, job_id, error, attempts, at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET root = excluded.root, hash = excluded.hash,
         job_id = excluded.job_id, error = excluded.error, attempts = excluded.attempts, at = excluded.at`,
  clearDeadLetter: 'DELETE FROM dead_letters WHERE path = ?',
  deadLetters: `SELECT ${DEAD_COLS} FROM dead_letters ORDER BY at DESC, path LIMIT ?`,
  deadLettersUnder: `SELECT ${DEAD_COLS} FROM dead_letters WHERE root = ?`,
  countDeadLetters: 'SELECT COUNT(*) AS n FROM dead_letters',
  putEmbedding: `INSERT INTO embeddings (image_id, model_id, width, width_rank, dim, vector, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(image_id, model_id, width) DO UPDATE SET width_rank = excluded.width_rank,
         dim = excluded.dim, vector = excluded.vector, created_at = excluded.created_at`,
  getEmbedding:
    'SELECT vector, dim FROM embeddings WHERE image_id = ? AND model_id = ? AND width = ?',
  embeddingsOf:
    'SELECT image_id AS imageId, vector FROM embeddings WHERE image_id IN (SELECT value FROM json_each(?)) AND model_id = ? AND width = ?',
  embeddings:
    'SELECT image_id AS imageId, dim, vector FROM embeddings WHERE model_id = ? AND width = ? ORDER BY image_id',
  widest: `SELECT image_id AS imageId, width, width_rank AS widthRank, dim, created_at AS createdAt,
         vector FROM embeddings WHERE model_id = ? ORDER BY image_id, width_rank DESC`,
  widestSince: `SELECT image_id AS imageId, width, width_rank AS widthRank, dim, created_at AS createdAt,
         vector FROM embeddings WHERE model_id = ? AND image_id IN
           (SELECT image_id FROM embeddings WHERE model_id = ? AND seq > ?)
         ORDER BY image_id, width_rank DESC`,
  vectorSeq: 'SELECT seq, deletes FROM vector_changes WHERE id = 1',
  vectorsOf:
    'SELECT width, vector FROM embeddings WHERE image_id = ? AND model_id = ? ORDER BY width_rank DESC',
  narrow: `SELECT image_id AS imageId, MAX(width_rank) AS rank FROM embeddings WHERE model_id = ?
         GROUP BY image_id HAVING SUM(width = '1') = 0`,
  fingerprint: `SELECT COUNT(*) AS images, SUM(image_id) AS idSum, MAX(mc) AS maxCreatedAt FROM
         (SELECT image_id, MAX(created_at) AS mc FROM embeddings WHERE model_id = ? GROUP BY image_id)`,
  countEmbeddings: 'SELECT COUNT(*) AS n FROM embeddings WHERE model_id = ? AND width = ?',
  countEmbeddingsModel: 'SELECT COUNT(*) AS n FROM embeddings WHERE model_id = ?',
  embeddingSets:
    'SELECT model_id AS modelId, width, COUNT(*) AS count FROM embeddings GROUP BY model_id, width ORDER BY model_id, width',
  imagesWithout: `SELECT i.id FROM images i WHERE i.status = 'ready' AND NOT EXISTS
         (SELECT 1 FROM embeddings e WHERE e.image_id = i.id AND e.model_id = ? AND e.width = ?) ORDER BY i.id LIMIT ?`,
  deleteEmbedding: 'DELETE FROM embeddings WHERE image_id = ? AND model_id = ? AND width = ?',
  startJob:
    "INSERT INTO jobs (kind, state, total, started_at, updated_at) VALUES (?, 'running', ?, ?, ?)",
  updateJob: `UPDATE jobs SET total = COALESCE(?, total), done = COALESCE(?, done), errors = COALESCE(?, errors),
         message = COALESCE(?, message), updated_at = ? WHERE id = ?`,
  finishJob:
    'UPDATE jobs SET state = ?, message = COALESCE(?, message), updated_at = ?, finished_at = ? WHERE id = ?',
  getJob: `SELECT ${JOB_COLS} FROM jobs WHERE id = ?`,
  interruptJobs: "UPDATE jobs SET state = 'interrupted', finished_at = ? WHERE state = 'running'",
} as const;

export type Statements = { readonly [K in keyof typeof SQL]: Database.Statement };

/** Prepares every statement on `db` (once, when the Store opens). */
export function prepare(db: Database.Database): Statements {
  return Object.fromEntries(
    Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]),
  ) as Statements;
}
