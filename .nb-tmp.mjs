import { x25519, ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from 'node:crypto';
function t(name, n, f){ const s=performance.now(); for(let i=0;i<n;i++) f(i); const d=performance.now()-s; console.log(name, (d/n*1000).toFixed(1),'us/op', (n*1000/d|0),'ops/s'); }
const keys = Array.from({length:2000},()=>randomBytes(32));
const pubs = keys.map(k=>x25519.getPublicKey(k));
t('x25519.getPublicKey', 2000, i=>x25519.getPublicKey(keys[i]));
t('x25519.shared', 2000, i=>x25519.getSharedSecret(keys[i], pubs[(i+1)%2000]));
const edp = keys.map(k=>ed25519.getPublicKey(k));
t('ed.getPublicKey', 2000, i=>ed25519.getPublicKey(keys[i]));
const m = randomBytes(100);
const sigs=[]; t('ed.sign', 2000, i=>sigs.push(ed25519.sign(m, keys[i])));
t('ed.verify', 2000, i=>ed25519.verify(sigs[i], m, edp[i]));
t('ed.toMontgomery', 2000, i=>ed25519.utils.toMontgomery(edp[i]));
t('ed.toMontgomerySecret', 2000, i=>ed25519.utils.toMontgomerySecret(keys[i]));
