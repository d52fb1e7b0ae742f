// What a framework binding needs from core: the shared kernel each binding maps its request onto.
export {
  type AnonHandle,
  attempt,
  type Binding,
  type BindingOptions,
  type BindingSpec,
  callHook,
  createBinding,
  type RequestView,
} from './create-binding.js';
export {
  DEFAULT_BEACON_PATH,
  type Endpoint,
  type EndpointAnswer,
  type EndpointCall,
  type ScriptAsset,
} from './endpoints.js';
export { type FetchBodySource, type NodeBodyStream, readFetchBody, readNodeBody } from './read-body.js';
export { createRouteTable, type RouteTable } from './route-table.js';
