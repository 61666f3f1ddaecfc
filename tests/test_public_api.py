"""The public names stay the same through refactoring (issue 15): frozen lists, compared both ways."""

import estimators
import infomeasure as im

#: ``estimators.__all__`` as of the restructuring; new names may be added here deliberately.
ESTIMATORS = (
    'CMI_METHODS',
    'ComplexityEntropy',
    'ComplexityEntropyBounds',
    'ConsistencyResult',
    'DTC_METHODS',
    'DiffusionResult',
    'ENTROPY_METHODS',
    'GramSpectrum',
    'MI_METHODS',
    'MultiscaleEntropy',
    'NeuralMIResult',
    'OINFO_METHODS',
    'OInformationMultiplets',
    'SINFO_METHODS',
    'SelfConsistencyReport',
    'SingularValueSummary',
    'SurrogateResult',
    'TC_METHODS',
    'TE_METHODS',
    'active_information_storage',
    'additivity_check',
    'alpha_req',
    'cmi_discrete',
    'cmi_gaussian',
    'cmi_ksg',
    'coding_rate',
    'complexity_entropy_bounds',
    'condition_number',
    'conditional_mutual_information',
    'data_processing_check',
    'diff_erank',
    'diffusion_spectral_entropy',
    'diffusion_spectral_mutual_information',
    'dtc_discrete',
    'dtc_gaussian',
    'dtc_gaussian_copula',
    'dtc_ksg',
    'dual_total_correlation',
    'effective_rank',
    'entropy',
    'entropy_discrete',
    'entropy_gaussian',
    'entropy_kde',
    'entropy_kl',
    'entropy_miller_madow',
    'entropy_renyi',
    'entropy_tsallis',
    'gram_spectrum',
    'independence_check',
    'matrix_entropy',
    'matrix_joint_entropy',
    'mi_binned',
    'mi_discrete',
    'mi_gaussian',
    'mi_infonce',
    'mi_ksg',
    'mi_matrix',
    'mi_mine',
    'mi_mixed',
    'mi_nwj',
    'mi_ross',
    'mi_smile',
    'mine',
    'missing_patterns',
    'multiscale_permutation_entropy',
    'mutual_information',
    'o_information',
    'o_information_multiplets',
    'oinfo_discrete',
    'oinfo_gaussian',
    'oinfo_gaussian_copula',
    'oinfo_ksg',
    'permutation_entropy',
    'rankme',
    'rate_reduction',
    's_information',
    'self_consistency',
    'sinfo_discrete',
    'sinfo_gaussian',
    'sinfo_gaussian_copula',
    'sinfo_ksg',
    'singular_value_summary',
    'statistical_complexity',
    'surrogate_test',
    'tc_discrete',
    'tc_gaussian',
    'tc_gaussian_copula',
    'tc_ksg',
    'te_discrete',
    'te_gaussian',
    'te_ksg',
    'te_ordinal',
    'total_correlation',
    'transfer_entropy',
    'von_neumann_entropy',
)

#: The names ``infomeasure`` adds to the estimators' (``im.__all__`` = both).
APPLICATION = (
    'ActivationFile',
    'AttentionEntropy',
    'CSVSink',
    'DEFAULT_MEASURES',
    'DemoResult',
    'InputsMI',
    'JSONLSink',
    'MEASURES',
    'Measure',
    'PredictionEntropy',
    'Probes',
    'RunDir',
    'SampleMeasure',
    'SpectralMeasure',
    'StreamingMeasure',
    'TensorBoardSink',
    '__version__',
    'analyze',
    'analyze_series',
    'demo',
    'every_n',
    'find_alerts',
    'get_measure',
    'integrations',
    'list_snapshots',
    'load_activations',
    'load_array',
    'log_spaced',
    'logit_entropy',
    'read_metrics',
    'reduce_array',
    'reduce_output',
    'report',
    'select_layers',
    'select_output',
)

#: Method names and aliases of every registry, in registration order.
REGISTRIES = {
    'CMI_METHODS': (['ksg', 'gaussian', 'discrete'], {'frenzel_pompe': 'ksg', 'fp': 'ksg', 'knn': 'ksg', 'gauss': 'gaussian', 'normal': 'gaussian', 'plugin': 'discrete', 'plug_in': 'discrete'}),
    'DTC_METHODS': (['gaussian', 'gaussian_copula', 'ksg', 'discrete'], {'gauss': 'gaussian', 'normal': 'gaussian', 'gc': 'gaussian_copula', 'copula': 'gaussian_copula', 'kraskov': 'ksg', 'knn': 'ksg', 'plugin': 'discrete', 'plug_in': 'discrete'}),
    'ENTROPY_METHODS': (['discrete', 'miller_madow', 'kl', 'gaussian', 'kde', 'renyi', 'tsallis'], {'plugin': 'discrete', 'plug_in': 'discrete', 'mle': 'discrete', 'shannon': 'discrete', 'mm': 'miller_madow', 'knn': 'kl', 'kozachenko_leonenko': 'kl', 'gauss': 'gaussian', 'normal': 'gaussian', 'kernel': 'kde'}),
    'MI_METHODS': (['ksg', 'gaussian', 'discrete', 'binned', 'mixed', 'ross', 'matrix', 'dsmi', 'mine', 'nwj', 'infonce', 'smile'], {'kraskov': 'ksg', 'knn': 'ksg', 'gauss': 'gaussian', 'normal': 'gaussian', 'plugin': 'discrete', 'plug_in': 'discrete', 'histogram': 'binned', 'bins': 'binned', 'gao': 'mixed', 'labels': 'ross', 'cd': 'ross', 'knn_discrete': 'ross', 'matrix_renyi': 'matrix', 'renyi_matrix': 'matrix', 'diffusion_spectral': 'dsmi', 'diffusion': 'dsmi', 'dv_ema': 'mine', 'nguyen_wainwright_jordan': 'nwj', 'nce': 'infonce', 'info_nce': 'infonce', 'cpc': 'infonce'}),
    'OINFO_METHODS': (['gaussian', 'gaussian_copula', 'ksg', 'discrete'], {'gauss': 'gaussian', 'normal': 'gaussian', 'gc': 'gaussian_copula', 'copula': 'gaussian_copula', 'kraskov': 'ksg', 'knn': 'ksg', 'plugin': 'discrete', 'plug_in': 'discrete'}),
    'SINFO_METHODS': (['gaussian', 'gaussian_copula', 'ksg', 'discrete'], {'gauss': 'gaussian', 'normal': 'gaussian', 'gc': 'gaussian_copula', 'copula': 'gaussian_copula', 'kraskov': 'ksg', 'knn': 'ksg', 'plugin': 'discrete', 'plug_in': 'discrete'}),
    'TC_METHODS': (['gaussian', 'gaussian_copula', 'ksg', 'discrete'], {'gauss': 'gaussian', 'normal': 'gaussian', 'gc': 'gaussian_copula', 'copula': 'gaussian_copula', 'kraskov': 'ksg', 'knn': 'ksg', 'plugin': 'discrete', 'plug_in': 'discrete'}),
    'TE_METHODS': (['ksg', 'gaussian', 'discrete', 'ordinal'], {'kraskov': 'ksg', 'knn': 'ksg', 'frenzel_pompe': 'ksg', 'gauss': 'gaussian', 'linear': 'gaussian', 'granger': 'gaussian', 'plugin': 'discrete', 'plug_in': 'discrete', 'symbolic': 'ordinal', 'permutation': 'ordinal'}),
}


def test_infomeasure_all_is_unchanged():
    assert sorted(im.__all__) == sorted(ESTIMATORS + APPLICATION)
    for name in APPLICATION:
        assert getattr(im, name) is not None, name


def test_estimators_all_is_unchanged():
    assert sorted(estimators.__all__) == sorted(ESTIMATORS)
    for name in ESTIMATORS:
        assert getattr(im, name) is getattr(estimators, name), name


def test_registries_are_unchanged():
    for name, (names, aliases) in REGISTRIES.items():
        reg = getattr(estimators, name)
        assert reg.names == names, name
        assert reg.aliases == aliases, name
