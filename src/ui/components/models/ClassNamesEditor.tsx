import { useEffect, useState } from 'react';
import type { ClassNames } from '../../../../workers/api';
import { useModelsStore } from '../../stores/modelsStore';
import { ReasonedButton } from '../ReasonedButton';

/** One text field per class: "name, synonym, synonym"; saving recomputes the text embeddings. */
export function ClassNamesEditor() {
  const { classNames, embeddings, clipCard, saveClassNames } = useModelsStore();
  const [texts, setTexts] = useState<string[]>([]);
  useEffect(() => setTexts(classNames.map((c) => c.names.join(', '))), [classNames]);

  const edited: ClassNames[] = classNames.map((c, i) => ({
    ...c,
    names: (texts[i] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  }));
  const dirty = classNames.some((c, i) => c.names.join(', ') !== texts[i]);
  return (
    <details data-testid="class-names">
      <summary>
        Class names and synonyms ({classNames.length} classes)
        {embeddings && (
          <span data-testid="embeddings-summary">
            {' '}
            · text embeddings: {embeddings.rows} rows ({embeddings.classes} classes × synonyms) × {embeddings.dims},{' '}
            {embeddings.templates} templates each
          </span>
        )}
      </summary>
      <table className="classes">
        <tbody>
          {classNames.map((c, i) => (
            <tr key={c.id}>
              <td>{c.id}</td>
              <td>{c.isthing ? 'thing' : 'stuff'}</td>
              <td>
                <input
                  data-testid="class-names-input"
                  size={50}
                  value={texts[i] ?? ''}
                  onChange={(e) => setTexts(texts.map((t, j) => (j === i ? e.target.value : t)))}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <ReasonedButton
          data-testid="class-names-save"
          why={dirty ? null : 'No name has changed: edit one above first.'}
          onClick={() => void saveClassNames(edited)}
        >
          Save names{clipCard ? ' and recompute embeddings' : ''}
        </ReasonedButton>
      </div>
    </details>
  );
}
