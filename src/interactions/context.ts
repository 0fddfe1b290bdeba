import type { Config } from '../config/config.js';
import type { AccessScope } from '../auth/access-scope.js';
import type { Principal } from '../auth/principal.js';
import type { AuditRecord } from '../audit/audit-record.js';
import type { AuditTrail } from '../audit/audit-trail.js';
import type { AuditCommit } from '../audit/audit-commit.js';
import type { Repository } from '../repository/repository.js';
import type { SearchService } from '../search/types.js';
import type { ReadRoutes } from '../storage/database.js';
import type { ResourceValidator } from '../validation/validator.js';
import type { OperationRegistry } from '../operations/registry.js';

/**
 * Everything an interaction handler may use. Inside a transaction Bundle, `repo` is the
 * transaction-scoped repository, so handlers never open a second transaction by accident.
 * Inside dispatch, `repo` and `search` are narrowed to what the principal may see.
 */
export interface FhirContext {
  readonly config: Config;
  readonly repo: Repository;
  readonly validator: ResourceValidator;
  readonly search: SearchService;
  readonly operations: OperationRegistry;
  /** Writes audit records inside a write's transaction. */
  readonly auditTrail: AuditTrail;
  /** Set when reads may run on a read replica (storage/read-routing.ts); dispatch decides which. */
  readonly reads?: ReadRoutes;
  /** Group commit of the audit records of everything else (audit/audit-commit.ts). */
  readonly auditCommit: AuditCommit;
  /** Who is asking; dispatch refuses to run an interaction without one. */
  readonly principal?: Principal;
  /** The client's network address, for the audit trail. */
  readonly address?: string;
  /** The HTTP request id, for the audit trail. */
  readonly requestId?: string;
  /** Set by dispatch: the narrowing of the interaction being run. */
  readonly access?: AccessScope;
  /**
   * Set by dispatch for the entries of a transaction Bundle: their audit records join the
   * Bundle's and are written with them, in its database transaction.
   */
  readonly auditBuffer?: AuditRecord[];
}
