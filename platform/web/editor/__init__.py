"""The report editor's form, in three parts, each walked from the category's description
(`reports.categories`, the one the API's details schema is built from too):

* `raw`: what the analyst typed, as nested text, read from the POST or from a stored version
  and kept verbatim on an error;
* `conversion`: that text into a `reports.services.ReportContent`, every problem found at
  once by its dotted path ("details.items.0.quantity");
* `layout`: the inputs to render, in order and by section, with each error beside its field
  and named in the error summary by where it sits (intermediary 2, its country).

`chips` gives the live ECCN 3A090 verdict of a chip row.
"""
