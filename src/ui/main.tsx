import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { useModelsStore } from './stores/modelsStore';
import './styles.css';

// The chosen CLIP (the demo CLIP on a fresh profile) is the worker's first request, before any
// component's effect asks for a backbone: the worker makes those wait for it.
void useModelsStore.getState().restoreClip();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
