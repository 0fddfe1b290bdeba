/**
 * Keeps the loaded profiles read-only: they are stored as StructureDefinition resources so that
 * read and search serve them like any resource, but a client may not overwrite one, nor store
 * another StructureDefinition under a loaded profile's canonical URL (which would make the URL
 * ambiguous). The start-up installer writes exactly the loaded content, which passes.
 */
import { deepEquals } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { forbidden } from '../fhir/outcomes.js';
import type { WriteHook } from '../repository/types.js';
import type { ProfileRegistry } from './profiles.js';

/** The content that identifies a profile: everything but the server's version metadata. */
export function profileContent(resource: Resource): Resource {
  const { meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...metaRest } = meta ?? {};
  return Object.keys(metaRest).length > 0 ? { ...rest, meta: metaRest } : rest;
}

export function profileGuard(registry: ProfileRegistry): WriteHook {
  return {
    async beforeWrite(_repo, change) {
      const resource = change.resource;
      if (resource?.resourceType !== 'StructureDefinition') {
        return;
      }
      const sd = resource;
      const owned = registry.all().find((p) => p.id === sd.id || p.url === sd.url);
      if (owned && !deepEquals(profileContent(owned), profileContent(sd))) {
        throw forbidden(`StructureDefinition ${owned.url} is a profile of this server (profiles/) and is read-only`);
      }
    },
  };
}
