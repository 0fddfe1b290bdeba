/**
 * Registered $operations with their OperationDefinitions: dispatch finds handlers here and the
 * CapabilityStatement lists exactly what is registered.
 */
import type { OperationDefinition } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import type { OperationInput } from './operation-parameters.js';

export type OperationLevel = 'system' | 'type' | 'instance';

export interface OperationHandler {
  /** Name without `$`. */
  readonly name: string;
  readonly definition: OperationDefinition;
  /** Resource types the operation applies to at type or instance level; undefined means all. */
  readonly resourceTypes?: readonly string[];
  readonly levels: readonly OperationLevel[];
  /**
   * Runs the operation; `input` holds its parameters, already checked against `definition`
   * (operation-parameters.ts), so a handler reads nothing the definition does not declare.
   */
  handle(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse>;
}

export class OperationRegistry {
  private readonly handlers: OperationHandler[] = [];

  register(handler: OperationHandler): this {
    this.handlers.push(handler);
    return this;
  }

  all(): readonly OperationHandler[] {
    return this.handlers;
  }

  find(name: string, level: OperationLevel, resourceType: string | undefined): OperationHandler | undefined {
    return this.handlers.find(
      (h) =>
        h.name === name &&
        h.levels.includes(level) &&
        (level === 'system' || h.resourceTypes === undefined || h.resourceTypes.includes(resourceType as string))
    );
  }

  forType(resourceType: string): OperationHandler[] {
    return this.handlers.filter(
      (h) =>
        (h.levels.includes('type') || h.levels.includes('instance')) &&
        (h.resourceTypes === undefined || h.resourceTypes.includes(resourceType))
    );
  }

  system(): OperationHandler[] {
    return this.handlers.filter((h) => h.levels.includes('system'));
  }
}

/**
 * The OperationDefinitions of the registered operations, one per id (an operation registered for
 * several levels or types carries one definition), for storing at start (app.ts) so that read and
 * search serve them like any resource.
 */
export function operationDefinitions(registry: OperationRegistry): Array<OperationDefinition & { id: string }> {
  const byId = new Map<string, OperationDefinition & { id: string }>();
  for (const handler of registry.all()) {
    const id = handler.definition.id;
    if (id === undefined) {
      throw new Error(`The OperationDefinition of $${handler.name} needs an id`);
    }
    byId.set(id, { ...handler.definition, id });
  }
  return [...byId.values()];
}
