// What other workspaces (the end-to-end tests) use of the stack: the one-origin proxy and the demo data.
export { createOneOriginProxy, type Upstreams } from './one-origin-proxy.js'
export { seedDemoData, DEMO_ACCOUNTS, DEMO_SCHOOLS, type DemoAccount } from './demo-data.js'
