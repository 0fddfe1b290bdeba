import type { Config } from '../config/config.js';
import type { Repository } from '../repository/repository.js';
import type { SearchService } from '../search/types.js';
import type { ResourceValidator } from '../validation/validator.js';
import type { OperationRegistry } from '../operations/registry.js';

/**
 * Everything an interaction handler may use. Inside a transaction Bundle, `repo` is the
 * transaction-scoped repository, so handlers never open a second transaction by accident.
 */
export interface FhirContext {
  readonly config: Config;
  readonly repo: Repository;
  readonly validator: ResourceValidator;
  readonly search: SearchService;
  readonly operations: OperationRegistry;
}
