// What other workspaces (the end-to-end tests) use of the stack: the demo data.
export { seedDemoData, DEMO_ACCOUNTS, DEMO_SCHOOLS, type DemoAccount } from './demo-data.js'
