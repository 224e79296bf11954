/**
 * Typed errors. Each carries a stable string `code` so the CLI can pick an exit status
 * and the server an HTTP status without parsing messages.
 */
export class MatsearchError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The caller passed something invalid (bad width, bad config value, bad argument). */
export class ValidationError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_VALIDATION', message, options);
  }
}

/** A tensor or file has the wrong shape, size or layout. */
export class ShapeError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_SHAPE', message, options);
  }
}

/** A weights or config file is unreadable, truncated or inconsistent. */
export class WeightsFormatError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_WEIGHTS_FORMAT', message, options);
  }
}

/** Something that should exist does not (file, image, tensor). */
export class NotFoundError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_NOT_FOUND', message, options);
  }
}

/** A resource was used after close(). */
export class NotOpenError extends MatsearchError {
  constructor(message: string) {
    super('E_NOT_OPEN', message);
  }
}

/** No usable compute backend, or only one too slow for the requested job. */
export class BackendError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BACKEND', message, options);
  }
}

/** Vectors or an index made by another model (or dimension) than the one in use. */
export class ModelMismatchError extends MatsearchError {
  constructor(message: string) {
    super('E_MODEL_MISMATCH', message);
  }
}

/** The job queue of a scale-out ingest (queue/) is unreachable or answered something unusable. */
export class QueueError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_QUEUE', message, options);
  }
}

/** The model has no classifier head (nClasses 0): it embeds, but cannot classify. */
export class NoHeadError extends MatsearchError {
  constructor(message: string) {
    super('E_NO_HEAD', message);
  }
}

/** The model hub could not be reached, refused, or sent a file that fails its checksum. */
export class HubError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_HUB', message, options);
  }
}
