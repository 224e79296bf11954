/**
 * The library database schema as numbered migrations. `PRAGMA user_version` records how many
 * have run; opening a library applies the missing ones in one transaction each.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: images by content, the paths they live at, vectors per (model, width), failures, jobs.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- One row per distinct content (sha256); exact duplicates share a row and have several paths.
  CREATE TABLE images (
    id        INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL UNIQUE,
    size      INTEGER NOT NULL,
    width     INTEGER,
    height    INTEGER,
    format    TEXT,
    added_at  INTEGER NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'error')),
    error     TEXT
  );

  CREATE TABLE paths (
    path      TEXT PRIMARY KEY,
    image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    root      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ms  INTEGER NOT NULL,
    seen_at   INTEGER NOT NULL
  );
  CREATE INDEX paths_image ON paths(image_id);
  CREATE INDEX paths_root ON paths(root);

  -- Files that could not be read as images: kept so an unchanged bad file is not retried.
  CREATE TABLE failures (
    path      TEXT PRIMARY KEY,
    root      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ms  INTEGER NOT NULL,
    error     TEXT NOT NULL,
    at        INTEGER NOT NULL
  );

  -- Every vector records the model and the width that made it: another model's vectors are
  -- never mixed into a search, and narrow vectors can be refined to full width later.
  CREATE TABLE embeddings (
    image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    model_id   TEXT NOT NULL,
    width      TEXT NOT NULL,
    -- mean active fraction of d_model over the layers (1 = full width), to pick the widest vector
    width_rank REAL NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (image_id, model_id, width)
  );
  CREATE INDEX embeddings_model ON embeddings(model_id, width);

  CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'interrupted')),
    total       INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0,
    message     TEXT,
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
  );
  `,
  // 2: the dead-letter list of the scale-out ingest (queue/): files whose job failed on every
  // try, with the last error, kept until the file is ingested again successfully.
  `
  CREATE TABLE dead_letters (
    path      TEXT PRIMARY KEY,
    root      TEXT NOT NULL,
    hash      TEXT NOT NULL,
    job_id    TEXT NOT NULL,
    error     TEXT NOT NULL,
    attempts  INTEGER NOT NULL,
    at        INTEGER NOT NULL
  );
  CREATE INDEX dead_letters_root ON dead_letters(root);
  `,
];
