export { createOneOriginProxy, type Upstreams } from './one-origin-proxy.js'
