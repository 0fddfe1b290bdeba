import { buildApp } from './src/app.js';
import { testConfig } from './test/helpers/app.js';
import { createTestDatabase } from './test/helpers/database.js';
let t = Date.now();
const database = await createTestDatabase();
console.log('db', Date.now() - t); t = Date.now();
const app = await buildApp({ config: testConfig({ PROFILES_DIR: process.argv[2] ?? 'profiles' }), db: database.db, closeDatabase: false });
console.log('app', Date.now() - t); t = Date.now();
await app.close(); await database.destroy();
