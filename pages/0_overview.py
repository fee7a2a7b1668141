"""Overview: what the app shows and the model currently in use."""

import streamlit as st
from ui.state import current_workspace
from ui.text import code, plain
from ui.widgets import other_data_hint

from cgmvae.model_store import describe


def provenance(about: dict, info: dict) -> str:
    """Which variant and settings produced the model, on which data, when (when known)."""
    settings = ", ".join(f"{name} {value:g}" if isinstance(value, (int, float))
                         else f"{name} {plain(str(value))}"
                         for name, value in about["settings"].items())
    lines = [f"- **Variant**: {code(about['variant'])}",
             f"- **Settings**: {settings}",
             f"- **Training**: best epoch {about['best_epoch']} of {about['epochs']} run",
             f"- **Data set**: {plain(about['dataset'])}"
             + (f" ({plain(info['data_source'])})" if info.get("data_source") else ""),
             f"- **Date**: {str(info.get('date', 'not recorded')).replace('T', ' ')}"]
    if info.get("name"):
        lines.append(f"- **Kept as** {code(info['name'])} (link: {code('?model=' + info['name'])})")
    return "\n".join(lines)


st.title("C-GMVAE label explorer")
st.markdown(
    "C-GMVAE (Bai, Kong & Gomes, ICML 2022) predicts several labels at once (here: which bird "
    "species a checklist records). Every label gets a learned **embedding**; labels that occur "
    "together get similar embeddings, so the inner products between them are a map of label "
    "correlations (the paper's Fig. 3).\n\n"
    "- **Data**: pick a data set; prevalence and empirical co-occurrence.\n"
    "- **Train**: train a model (or load a checkpoint) for this session.\n"
    "- **Label correlations**: the clustered embedding similarities, groups and nearest labels.\n"
    "- **Label Gaussians** and **Latent space**: the model's latent space in 2-D.\n"
    "- **Predictions** and **Predict from CSV**: test metrics, species responses, new sites."
)
other_data_hint()
workspace = current_workspace()
model = workspace.model
st.subheader(f"Model in use: {plain(model.dataset_name)} ({plain(workspace.source)})")
st.markdown(provenance(describe(model), workspace.info or {}))
if workspace.data is not None:  # plain counts: this first page imports no plotting libraries
    data = workspace.data.data
    for column, (name, value) in zip(st.columns(3), [("samples", data.n_samples),
                                                     ("features", data.n_features),
                                                     ("labels", data.n_labels)], strict=True):
        column.metric(name, f"{value:,}")
st.caption(f"Decision threshold {model.threshold:.2f}.")
if workspace.source == "built-in model":
    st.info("The built-in data set is simulated: real bird species names in habitat guilds "
            "(water, forest, residential birds and generalists) whose occurrence depends on the "
            "site's land cover, elevation, month and effort, and on each other. Open **Label "
            "correlations** to see whether the model found the guilds. The built-in model is "
            "the informative-latent variant (its decoder sees the latent sample alone), so "
            "**Label Gaussians** and **Latent space** show a latent space that did not collapse.")

# Last, after the text is on screen: the training curves. Being the first plotly chart, it also
# makes the browser load its plotting code now, while the reader reads, instead of on the Data
# page (3-4 s on a 2-core machine).
from cgmvae import explore  # imported here, so that the text above is on screen first  # noqa: E402

with st.expander("Training curves of this model", expanded=False):
    st.plotly_chart(explore.figures.training_curves(model.history))
