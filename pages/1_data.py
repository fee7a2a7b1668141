"""Data: pick a data set (built-in, a path, uploads, two tables, eBird or occurrence records) and
look at its labels."""

from pathlib import Path

import streamlit as st
from ui import cached
from ui.column_roles import open_table, role_editor, show_roles, use_table
from ui.loading import (
    DATA_FILE_TYPES,
    EBIRD_TYPES,
    TABLE_TYPES,
    USER_ERRORS,
    ebird_recipe,
    ebird_roles,
    load_data_path,
    load_ebird,
    load_records_data,
    load_tables,
    load_uploaded_data,
    path_recipe,
    read_table,
    records_recipe,
    table_at,
    table_columns,
    two_tables_recipe,
    uploaded_table,
    user_message,
)
from ui.state import DATA_KEY, current_data, use_data
from ui.text import plain, safe_message
from ui.widgets import group_zoom

from cgmvae import explore
from cgmvae.formats import read_sidecar
from cgmvae.formats.records import guess_record_columns
from cgmvae.formats.tables import UNNAMED_COLUMN


def source_input(label: str, types: list[str], key: str):
    """An upload, else a path typed on the server; None when neither is given."""
    upload = st.file_uploader(label, type=types, key=f"{key}_upload")
    path = st.text_input(f"...or the path of the {label.lower()} on the server", key=f"{key}_path",
                         help=SERVER_PATH_HELP)
    return upload if upload is not None else (path.strip() or None)


def more_site_tables() -> list:
    """Further site tables (coordinates, more covariates), uploaded or as server paths."""
    with st.expander("More site tables (optional): coordinates or further covariates"):
        st.caption("Kept apart as HMSC's X and xy, or Norberg et al.'s Xt and St: joined to the "
                   "site table on the id, or by row order, and their columns added as "
                   "covariates. Coordinates let the model learn what varies in space, so that "
                   "less of it is left to the residual associations.")
        uploads = st.file_uploader("Site tables", type=TABLE_TYPES, accept_multiple_files=True,
                                   key="more_sites_upload")
        paths = st.text_input("...or their paths on the server, separated by ;",
                              key="more_sites_path", help=SERVER_PATH_HELP)
    return list(uploads or []) + [p.strip() for p in paths.split(";") if p.strip()]


def join_advice(species_name: str, sites_name: str, unnamed: list[str]) -> str:
    """What the Two tables tab says when the tables share no column (`unnamed`: those without a
    header row)."""
    if unnamed:
        listed = " and ".join([", ".join(unnamed[:-1]), unnamed[-1]] if len(unnamed) > 2
                              else unnamed)
        return (f"{plain(listed)} {'has' if len(unnamed) == 1 else 'have'} no "
                "header row (the first row is numbers), so the tables can only be joined by row "
                "order: row k of one is the site of row k of the other.")
    return (f"{plain(species_name)} and {plain(sites_name)} have no column in common. If the "
            "species table has a row per species and a column per site (as vegetation tables "
            "do), choose the site table's id column: its values name the species table's "
            "columns. If the two list the same sites in the same order, without ids, join them "
            "by row order. Otherwise give both tables the same id column (e.g. `site`).")


def shown_name(source) -> str:
    """An upload's own name, or a path's file name (as the library's messages say it)."""
    return getattr(source, "name", None) or Path(source).name


SERVER_PATH_HELP = ("A path on the machine that runs this app (not on your computer), inside the "
                    "data folders its operator allows.")


st.title("Data")
tabs = st.tabs(["Built-in", "Path on the server", "Upload", "Two tables", "eBird", "Records"])
with tabs[0]:
    st.write("Simulated eBird-style checklists: land cover, elevation, month and effort at each "
             "site; bird species in habitat guilds.")
    if st.button("Use the built-in data set", disabled=DATA_KEY not in st.session_state):
        st.session_state.pop(DATA_KEY, None)
with tabs[1]:
    path = st.text_input("Data path on the server",
                         placeholder="../shared/data/ecology/swiss_birds",
                         help="A CSV, Excel (.xlsx: its first sheet) or Parquet file (with or "
                              "without its JSON sidecar), a Mulan folder or ARFF file, or an npy "
                              f"folder. {SERVER_PATH_HELP}").strip()
    split_path = st.text_input("Split file on the server (optional)",
                               placeholder="../shared/data/splits/yeast.json").strip()
    clicked = st.button("Load", key="load_path")
    if clicked and not path:
        st.warning("Type a data path first.")
    elif clicked:
        try:
            table = table_at(path)
            if table is not None:
                open_table(read_table(table), table.name, read_sidecar(table), path, split_path,
                           server_path=path)
            else:
                data, split, how = load_data_path(path, split_path)
                use_data(data, split, f"{path}, {how}", path_recipe(path, split_path))
        except USER_ERRORS as err:
            st.error(f"Could not load {plain(path)}: {safe_message(user_message(err))}")
with tabs[2]:
    files = st.file_uploader("Data files", type=DATA_FILE_TYPES, accept_multiple_files=True,
                             help="A CSV, Excel (.xlsx: its first sheet) or Parquet file (its "
                                  "JSON sidecar optional), an ARFF with its Mulan XML, or "
                                  "<name>_data.npy with its index files.")
    if st.button("Load", key="load_upload", disabled=not files):
        names = ", ".join(f.name for f in files)
        try:
            found = uploaded_table(files)
            if found is not None:
                upload, meta = found
                open_table(read_table(upload), upload.name, meta, f"uploaded {names}")
            else:
                data, split, how = load_uploaded_data(files)
                use_data(data, split, f"uploaded {names}, {how}")
        except USER_ERRORS as err:
            st.error(f"Could not load {plain(names)}: {safe_message(user_message(err))}")
with tabs[3]:
    st.write("A species table (a row per site and a column per species, or a row per species "
             "and a column per site as vegetation tables are written) and a site table (a row "
             "per site, a column per covariate; its coordinates may be in a further table), "
             "joined on the site id, or by row order when neither has ids (matrices written "
             "without names, as HMSC's Y, X and xy).")
    left, right = st.columns(2)
    with left:
        species = source_input("Species table", TABLE_TYPES, "species")
    with right:
        sites = source_input("Site table", TABLE_TYPES, "sites")
    more_sites = more_site_tables()
    site_tables = [sites, *more_sites] if sites is not None else []
    if species is not None and site_tables:
        try:
            species_columns = table_columns(species)
            site_columns = [table_columns(table) for table in site_tables]
            in_all_sites = [c for c in site_columns[0]
                            if all(c in columns for columns in site_columns[1:])]
            shared = [c for c in species_columns if c in set(in_all_sites)]
        except USER_ERRORS as err:
            shared = None
            st.error(safe_message(user_message(err)))
        if shared is not None:
            sites_name = " + ".join(shown_name(table) for table in site_tables)
            if shared:
                id_column = st.selectbox("Id column in all tables" if more_sites
                                         else "Id column in both tables", shared,
                                         format_func=lambda c: c or UNNAMED_COLUMN)
            else:
                unnamed = [shown_name(table) for table, columns in
                           zip([species, *site_tables], [species_columns, *site_columns],
                               strict=True) if not columns]
                st.info(join_advice(shown_name(species), sites_name, unnamed))
                id_column = st.selectbox(
                    "Join on", [None] if unnamed else [*in_all_sites, None],
                    format_func=lambda c: "row order (the same sites in the same order)"
                    if c is None else f"the site table's id column {c}")
            covariates = [c for columns in site_columns for c in columns if c != id_column]
            categorical = st.multiselect(
                "Covariates that are categories", covariates, key="two_tables_categorical",
                help="One-hot encoded even when they hold numbers (e.g. a vegetation class "
                     "1-5). After the join, a note names covariates that look like such codes.")
            if st.button("Join and load", key="load_two_tables"):
                chosen = site_tables if more_sites else sites
                try:
                    data, split, how = load_tables(species, chosen, id_column,
                                                   categorical=categorical)
                    use_table(data, split, f"{shown_name(species)} + {sites_name}, {how}",
                              {"id": [id_column] if id_column else [],
                               "labels": data.label_names,
                               "features": data.feature_names}, sidecar=False,
                              recipe=two_tables_recipe(species, chosen, id_column,
                                                       categorical))
                except USER_ERRORS as err:
                    st.error(f"Could not join the tables: {safe_message(user_message(err))}")
with tabs[4]:
    st.write("The eBird Basic Dataset (observations) and its sampling-event file, as downloaded "
             "from ebird.org/data/download (the .txt or .txt.gz files out of the tar). Complete "
             f"checklists only, zero-filled the way R's auk does. Uploads are capped at "
             f"{st.get_option('server.maxUploadSize')} MB: "
             "give a state's files by their path on the server, or run `python -m cgmvae ebird "
             "--format parquet` and load its output.")
    left, right = st.columns(2)
    with left:
        observations = source_input("Observations file", EBIRD_TYPES, "ebd")
    with right:
        sampling = source_input("Sampling-event file", EBIRD_TYPES, "sed")
    species_min = st.number_input("Keep species seen on at least this many checklists",
                                  min_value=1, value=1, step=1)
    if st.button("Zero-fill and load", key="load_ebird",
                 disabled=observations is None or sampling is None):
        try:
            data, split, how = load_ebird(observations, sampling, int(species_min))
            use_table(data, split, f"eBird {shown_name(observations)}, {how}", ebird_roles(data),
                      recipe=ebird_recipe(observations, sampling, int(species_min)))
            st.success(f"{data.n_samples:,} complete checklists x {data.n_labels:,} species.")
        except USER_ERRORS as err:
            st.error(f"Could not read the eBird files: {safe_message(user_message(err))}")

with tabs[5]:
    st.write("Occurrence records: one row per species found at a site (capture records, point "
             "counts, a GBIF or Darwin Core download). Each site with a record is taken as "
             "surveyed for every species, so a species with no record there is absent (0), as "
             "R's auk zero-fills complete eBird checklists. For opportunistic records absence "
             "only means 'not reported'.")
    records = source_input("Records table", TABLE_TYPES, "records")
    columns = None
    if records is not None:
        try:
            columns = table_columns(records)
        except USER_ERRORS as err:
            st.error(f"Could not read {plain(shown_name(records))}: "
                     f"{safe_message(user_message(err))}")
    if columns:
        guess = guess_record_columns(columns)
        left, middle, right = st.columns(3)
        site_columns = left.multiselect(
            "Site column(s)", columns, default=guess["sites"], key="records_sites",
            help="Together they name one site or visit: e.g. plot, year and month. With several, "
                 "the site id is a new `site` column, and those not named like an id (year, "
                 "month) are covariates.")
        species_column = middle.selectbox(
            "Species column", columns, key="records_species",
            index=columns.index(guess["species"]) if guess["species"] else 0)
        count_options = ["(none: every record is a presence)", *columns]
        count_column = right.selectbox(
            "Count column (optional)", count_options, key="records_count",
            index=count_options.index(guess["count"]) if guess["count"] else 0,
            help="A number > 0 or X is a presence; 0 or 'absent' a recorded absence.")
        count_column = None if count_column == count_options[0] else count_column
        records_min = st.number_input("Keep species present at this many sites or more",
                                      min_value=1, value=1, step=1, key="records_min")
        st.caption("Covariates: every other column with one value per site (habitat, plot "
                   "type); columns that vary within a site (a catch's weight or sex) describe "
                   "records and are left out. The note under the table names both.")
        if st.button("Zero-fill and load", key="load_records", disabled=not site_columns):
            try:
                data, split, how, roles = load_records_data(
                    records, site_columns, species_column, count_column, int(records_min))
                use_table(data, split, f"records {shown_name(records)}, {how}", roles,
                          sidecar=False, recipe=records_recipe(
                              records, site_columns, species_column, count_column,
                              int(records_min)))
                st.success(f"{data.n_samples:,} sites x {data.n_labels:,} species.")
            except USER_ERRORS as err:
                st.error(f"Could not zero-fill the records: {safe_message(user_message(err))}")

role_editor()
choice = current_data()
data = choice.data
st.subheader(f"{plain(data.name)}: {plain(choice.source)}")
summary = explore.data_summary(data)
for column, (name, value) in zip(st.columns(len(summary)), summary.items(), strict=True):
    column.metric(name, f"{value:,}" if isinstance(value, int) else value)
for notice in data.notices:
    st.caption(f"Note: {safe_message(notice)}")
st.caption(f"Split: {choice.split.train.size:,} train / {choice.split.val.size:,} validation / "
           f"{choice.split.test.size:,} test rows.")
show_roles(choice)
st.dataframe(explore.preview_frame(data), height=240)

left, right = st.columns(2)
left.plotly_chart(explore.figures.prevalence_bars(
    explore.prevalence_frame(data.labels, data.label_names)))
right.plotly_chart(explore.figures.labels_per_sample_histogram(data.labels))

st.subheader("Empirical co-occurrence")
st.caption("How often two species were recorded at the same sites, counted from the table "
           "(no model): phi is their correlation, Jaccard the share of sites with either that "
           "have both.")
measure, zoom_to = st.columns([2, 1])
kind = measure.radio("Measure", explore.COOCCURRENCE_KINDS, horizontal=True,
                     format_func={"phi": "phi (correlation)", "jaccard": "Jaccard"}.get)
every_row_key = f"count_every_row_{choice.key}"
sampled = explore.quick_count_size(data.n_samples, data.n_labels) < data.n_samples
every_row = not sampled or st.session_state.get(every_row_key, False)
with st.spinner(f"Counting pairs of species on {data.n_samples:,} sites..." if every_row
                else "Counting pairs of species on a sample of sites..."):
    matrix = cached.cooccurrence(choice, kind, every_row)
    clustering = cached.cooccurrence_clustering(choice, kind, every_row)
if sampled and every_row:
    st.caption(f"Counted on all {data.n_samples:,} sites.")
elif not every_row:
    _, counted, seconds = cached.pair_counts(choice, False)
    note, more = st.columns([3, 1])
    note.caption(f"Counted on a seeded random {counted:,} of the {data.n_samples:,} sites, to "
                 f"answer in seconds: a phi here is within about ±{explore.phi_margin(counted):.3f}"
                 " of the whole table's (95%).")
    more.button(f"Count all {data.n_samples:,} sites (about "
                f"{seconds * data.n_samples / counted:.0f} s)",
                on_click=lambda: st.session_state.update({every_row_key: True}))
rows = group_zoom(zoom_to, clustering.groups, key="cooccurrence_zoom")
st.plotly_chart(explore.similarity_heatmap(matrix, data.label_names, clustering, rows=rows,
                                           value_name=kind, title=f"{kind} between labels, "
                                           "clustered (diagonal removed)"))
