import { useCallback, useEffect, useRef, useState } from 'react';
import type {
  ModelDownloadProgress,
  SegmentedImage,
  UsableRun,
  UsedModelView,
  UserMessage,
} from '../../../../workers/api';
import { attemptWithMessage } from '../../messages';
import { callback, pipeline } from '../../pipeline';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { Messages } from '../Messages';
import { DownloadProgress } from '../models/DownloadProgress';
import { EnsembleAlpha, ensembleAlphaOf, type EnsembleSetting } from './EnsembleAlpha';
import { ModelSummary } from './ModelSummary';
import { SegmentedImageView } from './SegmentedImageView';
import { PredictionsExport, SharePanel } from './SharePanel';
import { ReasonedButton } from '../ReasonedButton';

/**
 * The Use view: open a model (a run trained here, dropped bundle files, or a share link), see its
 * card, segment dropped images with it, and share it. Opening `#model=…&sha256=…` lands here.
 */
export function UseView() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const [runs, setRuns] = useState<UsableRun[]>([]);
  const [runId, setRunId] = useState('');
  const [model, setModel] = useState<UsedModelView | null>(null);
  const [sharedRunId, setSharedRunId] = useState<string | null>(null);
  const [progress, setProgress] = useState<ModelDownloadProgress | null>(null);
  const [opening, setOpening] = useState(false);
  const [results, setResults] = useState<{ images: SegmentedImage[]; alpha: number | null } | null>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [ensemble, setEnsemble] = useState<EnsembleSetting>({ on: true, alpha: 0.6 });
  const [segmenting, setSegmenting] = useState(false);
  /** The latest segmentation asked for; one runs at a time and the latest wins (a dragged slider asks many). */
  const wanted = useRef<{ files: File[]; alpha: number | null } | null>(null);
  const running = useRef(false);
  const [messages, setMessages] = useState<UserMessage[]>([]);
  const show = useCallback((m: UserMessage) => setMessages([m]), []);

  const open = async (what: () => Promise<UsedModelView>, fromRun: string | null) => {
    setMessages([]);
    setOpening(true);
    setResults(null);
    setFiles([]);
    const opened = await attemptWithMessage(what, show);
    setOpening(false);
    setProgress(null);
    if (opened) {
      setModel(opened);
      setEnsemble({ on: true, alpha: opened.ensembleAlpha });
      setSharedRunId(fromRun);
    }
  };

  useEffect(() => {
    void attemptWithMessage(() => pipeline().usableRuns(), show).then((r) => {
      if (!r) return;
      setRuns(r);
      setRunId((id) => id || (r[0]?.id ?? ''));
    });
    void pipeline()
      .usedModel()
      .then((m) => {
        if (!m) return;
        setModel(m);
        setEnsemble({ on: true, alpha: m.ensembleAlpha });
      });
    if (/[#&]model=/.test(window.location.hash)) {
      const link = window.location.href;
      void open(() => pipeline().openSharedModel(link, callback(setProgress)), null);
    }
  }, []);

  const pump = async () => {
    if (running.current) return;
    running.current = true;
    setSegmenting(true);
    for (let job = wanted.current; job; job = wanted.current) {
      wanted.current = null;
      const { files: images, alpha } = job;
      const segmented = await attemptWithMessage(() => pipeline().segmentImages(images, alpha), show);
      if (segmented) setResults({ images: segmented, alpha });
    }
    running.current = false;
    setSegmenting(false);
  };
  const segment = (images: File[], setting: EnsembleSetting) => {
    if (images.length === 0) return;
    setMessages([]);
    wanted.current = { files: images, alpha: ensembleAlphaOf(setting) };
    void pump();
  };
  const pickImages = (images: File[]) => {
    setFiles(images);
    segment(images, ensemble);
  };
  const changeEnsemble = (setting: EnsembleSetting) => {
    setEnsemble(setting);
    segment(files, setting);
  };

  return (
    <div className="use-view" data-testid="use-view">
      <section className="card">
        <h2>Use a model</h2>
        <div className="row">
          <select value={runId} onChange={(e) => setRunId(e.target.value)} data-testid="use-run">
            {runs.length === 0 && <option value="">no trained run yet</option>}
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
          <ReasonedButton
            why={
              !runId ? 'Train a run first (Train tab), or open a bundle below.' : opening ? 'Opening a model…' : null
            }
            onClick={() => void open(() => pipeline().useRunModel(runId), runId)}
            data-testid="use-open-run"
          >
            Use this run
          </ReasonedButton>
        </div>
        <div className="row">
          <label>
            Bundle files (model.json + model.safetensors, or their zip):{' '}
            <input
              type="file"
              multiple
              accept=".json,.safetensors,.zip"
              data-testid="use-bundle-input"
              onChange={(e) => {
                const files = Array.from(e.target.files ?? []);
                if (files.length) void open(() => pipeline().importModelBundle(files), null);
              }}
            />
          </label>
        </div>
        {opening && <DownloadProgress progress={progress} onCancel={() => void pipeline().cancelModelLoad('model')} />}
        <Messages items={messages} testId="use-messages" />
      </section>
      {model && <ModelSummary model={model} />}
      {model && (
        <section
          className="card drop"
          data-testid="use-drop"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            e.preventDefault();
            pickImages(Array.from(e.dataTransfer.files));
          }}
        >
          <h3>Segment images</h3>
          <p className="muted">Drop images here or pick them.</p>
          <input
            type="file"
            multiple
            accept="image/*"
            data-testid="use-images-input"
            onChange={(e) => pickImages(Array.from(e.target.files ?? []))}
          />
          <EnsembleAlpha setting={ensemble} onChange={changeEnsemble} shown={results?.alpha} />
          {segmenting && <p className="muted">Segmenting…</p>}
          {results?.images.map((r, i) => (
            <SegmentedImageView key={`${r.fileName}-${i}`} result={r} />
          ))}
          <h3>Predictions for a dataset</h3>
          <PredictionsExport
            key={`${model.from}:${model.card.weights.sha256}`}
            datasets={datasets}
            ensembleAlpha={ensembleAlphaOf(ensemble)}
            onMessage={show}
          />
        </section>
      )}
      {model && sharedRunId && <SharePanel runId={sharedRunId} onMessage={show} />}
    </div>
  );
}
