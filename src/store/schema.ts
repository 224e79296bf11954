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
  // 3: (a) image ids are never reused (AUTOINCREMENT): a reused id let a search index, or a
  // server's copy of one, answer with a deleted image's vector under a new image's id.
  // (b) A change counter every vector write bumps (triggers, so cascaded deletes count too), and
  // each vector row records the count of its last write: an index records the count it reflects,
  // and catches up from exactly the rows written since, whichever process wrote them.
  // (c) Why a file failed, when a limit refused it (pixel cap, byte cap, decode timeout), so that
  // raising the limit retries it. Runs with foreign keys off (Store.open), so rebuilding images
  // cascades nothing.
  `
  CREATE TABLE images_v3 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    hash      TEXT NOT NULL UNIQUE,
    size      INTEGER NOT NULL,
    width     INTEGER,
    height    INTEGER,
    format    TEXT,
    added_at  INTEGER NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'error')),
    error     TEXT
  );
  INSERT INTO images_v3 (id, hash, size, width, height, format, added_at, status, error)
    SELECT id, hash, size, width, height, format, added_at, status, error FROM images;
  DROP TABLE images;
  ALTER TABLE images_v3 RENAME TO images;

  -- seq counts every vector write and delete, deletes the deletes alone.
  CREATE TABLE vector_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    seq     INTEGER NOT NULL,
    deletes INTEGER NOT NULL
  );
  INSERT INTO vector_changes (id, seq, deletes) VALUES (1, 1, 0);
  ALTER TABLE embeddings ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX embeddings_seq ON embeddings(model_id, seq);
  CREATE TRIGGER embeddings_inserted AFTER INSERT ON embeddings BEGIN
    UPDATE vector_changes SET seq = seq + 1;
    UPDATE embeddings SET seq = (SELECT seq FROM vector_changes) WHERE rowid = NEW.rowid;
  END;
  CREATE TRIGGER embeddings_updated
    AFTER UPDATE OF image_id, model_id, width, width_rank, dim, vector ON embeddings BEGIN
    UPDATE vector_changes SET seq = seq + 1;
    UPDATE embeddings SET seq = (SELECT seq FROM vector_changes) WHERE rowid = NEW.rowid;
  END;
  -- The image's other vectors are marked too: its widest may be another one now.
  CREATE TRIGGER embeddings_deleted AFTER DELETE ON embeddings BEGIN
    UPDATE vector_changes SET seq = seq + 1, deletes = deletes + 1;
    UPDATE embeddings SET seq = (SELECT seq FROM vector_changes)
      WHERE image_id = OLD.image_id AND model_id = OLD.model_id;
  END;

  -- 'pixels', 'bytes' or 'timeout', and the limit then in force (NULL: the file itself is bad).
  ALTER TABLE failures ADD COLUMN limit_kind TEXT;
  ALTER TABLE failures ADD COLUMN limit_value REAL;
  `,
];
